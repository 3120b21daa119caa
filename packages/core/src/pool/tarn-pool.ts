import tarn from 'tarn'

type TarnResource<T> = { resource: T; timestamp: number; settle(): void; resolve(): TarnResource<T> }

/**
 * tarn opens and closes resources, keeps the idle and used lists and reaps
 * idle ones. This subclass adds what the pool needs that tarn does not
 * expose: a synchronous hand-out of an idle resource (the fast path: no
 * promise, no timer), a release that allocates nothing, opening one resource
 * on request, and taking out a specific resource.
 */
export class TarnPool<T> extends tarn.Pool<T> {
  /** Hands out the most recently used idle resource synchronously, or `undefined` when none is idle. */
  takeIdle(): T | undefined {
    if (this.destroyed) {
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
   * Moves a leased resource back to the idle list, reusing tarn's record of
   * it (tarn's own `release` allocates a new record and a promise).
   */
  releaseResource(resource: T): void {
    const used = this.used as TarnResource<T>[]
    for (let i = used.length - 1; i >= 0; i--) {
      const entry = used[i]!
      if (entry.resource !== resource) {
        continue
      }
      if (this.destroyed) {
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

  /** Opens one connection; it lands in the idle list. */
  createOne(): Promise<T> {
    return this._create().promise
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
