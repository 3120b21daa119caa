import tarn from 'tarn'

type TarnResource<T> = { resource: T; timestamp: number; settle(): void; resolve(): TarnResource<T> }
type PendingAcquire<T> = ReturnType<tarn.Pool<T>["acquire"]>

/**
 * tarn does creation, idle reaping and the FIFO wait queue with its timeout.
 * This subclass adds the few operations the pool needs that tarn does not
 * expose: a synchronous hand-out of an idle resource when nobody is queued
 * (the fast path: no promise, no timer), a per-call wait time, taking out a
 * specific resource, and failing every waiter at once.
 */
export class TarnPool<T> extends tarn.Pool<T> {
  /**
   * Hands out an idle resource synchronously, or `undefined` when none is
   * idle or callers are already queued (they come first: FIFO).
   */
  takeIdle(): T | undefined {
    if (this.pendingAcquires.length > 0 || this.destroyed) {
      return undefined
    }
    const free = this.free.pop()
    if (free === undefined) {
      return undefined
    }
    this.used.push(free)
    this._startReaping()
    return free.resource
  }

  /**
   * Gives a leased resource back. With nobody queued the resource record is
   * reused as is (tarn would allocate a new one and a promise); with callers
   * queued it goes through tarn so the first of them gets it.
   */
  releaseResource(resource: T): void {
    const used = this.used as TarnResource<T>[]
    for (let i = used.length - 1; i >= 0; i--) {
      const entry = used[i]!
      if (entry.resource !== resource) {
        continue
      }
      if (this.pendingAcquires.length > 0 || this.destroyed) {
        this.release(resource)
        return
      }
      // Order in `used` carries no meaning: swap-remove instead of splice.
      used[i] = used[used.length - 1]!
      used.pop()
      entry.timestamp = Date.now()
      ;(this.free as TarnResource<T>[]).push(entry)
      return
    }
  }

  /** `acquire()` with this call's own time limit. */
  acquireWithin(timeoutMillis: number): PendingAcquire<T> {
    const poolWide = this.acquireTimeoutMillis
    this.acquireTimeoutMillis = Math.max(1, Math.ceil(timeoutMillis))
    try {
      return this.acquire()
    } finally {
      this.acquireTimeoutMillis = poolWide
    }
  }

  /** Takes a leased resource out of the pool and destroys it. */
  destroyUsed(resource: T): void {
    const used = removeResource(this.used as TarnResource<T>[], resource)
    if (used !== undefined) {
      used.settle()
      void this._destroy(resource)
      this._tryAcquireOrCreate()
    }
  }

  /** Takes an idle resource out of the pool and destroys it. */
  destroyIdle(resource: T): boolean {
    const free = removeResource(this.free as TarnResource<T>[], resource)
    if (free === undefined) {
      return false
    }
    free.settle()
    void this._destroy(resource)
    this._tryAcquireOrCreate()
    return true
  }

  /** Idle resources matching `predicate`, for eviction during reaping. */
  idleWhere(predicate: (resource: T) => boolean): T[] {
    return this.free.filter((free) => predicate(free.resource)).map((free) => free.resource)
  }

  /** Leased resources, for leak detection and `holders()`. */
  usedResources(): T[] {
    return this.used.map((used) => used.resource)
  }

  /** Fails every queued caller with `error` (fatal connect failure, shutdown). */
  rejectWaiters(error: Error): void {
    for (const pending of [...this.pendingAcquires]) {
      pending.reject(error)
    }
  }

  /** Opens one connection for warm-up, outside any caller's demand. */
  createOne(): Promise<T> {
    const pending = this._create()
    return pending.promise.then((resource) => {
      // A waiter may have arrived meanwhile.
      this._tryAcquireOrCreate()
      return resource
    })
  }

  get isDestroyed(): boolean {
    return this.destroyed
  }
}

function removeResource<T>(list: TarnResource<T>[], resource: T): TarnResource<T> | undefined {
  const index = list.findIndex((entry) => entry.resource === resource)
  if (index === -1) {
    return undefined
  }
  return list.splice(index, 1)[0]
}
