import tarn from 'tarn'

type TarnResource<T> = { resource: T; timestamp: number; settle(): void; resolve(): TarnResource<T> }

/**
 * tarn opens and closes resources, keeps the idle (`free`) and taken
 * (`used`) lists and reaps idle ones. This subclass adds what the pool needs
 * that tarn does not expose: a synchronous hand-out of an idle resource (the
 * fast path: no promise, no timer), a release that allocates nothing,
 * opening one resource on request, and evicting a specific resource from
 * whichever list holds it.
 *
 * It reaches into tarn's protected `free`, `used`, `_create`, `_destroy`,
 * `_startReaping` and `interval`: tarn is pinned to its 3.1 minor, and
 * test/unit/tarn-canary.test.ts fails if those change.
 */
export class TarnPool<T> extends tarn.Pool<T> {
  /**
   * `Date.now()` minus `performance.now()`: the pool's clock reads are
   * `performance.now()`, tarn's reaper compares against `Date.now()`, and a
   * release converts instead of reading a second clock.
   */
  readonly #epochOffset = Date.now() - performance.now()

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
    if (this.interval === null) {
      this._startReaping()
    }
    return free.resource
  }

  /**
   * Moves a taken resource back to the idle list, reusing tarn's record of
   * it (tarn's own `release` allocates a new record and a promise). `now` is
   * a `performance.now()` reading the caller already has.
   */
  releaseResource(resource: T, now: number = performance.now()): void {
    const used = this.used as TarnResource<T>[]
    for (let i = used.length - 1; i >= 0; i--) {
      const entry = used[i]!
      if (entry.resource !== resource) {
        continue
      }
      // Order in `used` carries no meaning: swap-remove instead of splice.
      used[i] = used[used.length - 1]!
      used.pop()
      entry.timestamp = now + this.#epochOffset
      ;(this.free as TarnResource<T>[]).push(entry)
      return
    }
  }

  /** Takes a resource out of whichever list holds it and destroys it. False when neither does. */
  evict(resource: T): boolean {
    const entry =
      removeResource(this.used as TarnResource<T>[], resource) ??
      removeResource(this.free as TarnResource<T>[], resource)
    if (entry === undefined) {
      return false
    }
    entry.settle()
    void this._destroy(resource)
    return true
  }

  /** Taken resources (reserved, leased or returning), for the sweeper and `holders()`. */
  usedResources(): T[] {
    return this.used.map((used) => used.resource)
  }

  /** Idle resources. */
  idleResources(): T[] {
    return this.free.map((free) => free.resource)
  }

  /** Opens one resource; it lands in the idle list. */
  createOne(): Promise<T> {
    return this._create().promise
  }

  get isDestroyed(): boolean {
    return this.destroyed
  }

  // The reaper must not keep the process alive: open sockets decide that.
  override _startReaping(): void {
    super._startReaping()
    this.interval?.unref()
  }
}

function removeResource<T>(list: TarnResource<T>[], resource: T): TarnResource<T> | undefined {
  const index = list.findIndex((entry) => entry.resource === resource)
  if (index === -1) {
    return undefined
  }
  return list.splice(index, 1)[0]
}
