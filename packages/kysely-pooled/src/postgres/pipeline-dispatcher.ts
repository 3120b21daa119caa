import {
  PoolQueueFullError,
  PoolTimeoutError,
  type AcquireOptions,
  type Lease,
  type Pool,
  type PostgresClient as Client,
} from '@kysely-pooled/core'
import type { CompiledQuery, QueryResult } from 'kysely'
import type { AbortOptions } from '../shared/abort-options.js'
import type { SharedTarget } from '../shared/statement-route.js'
import type { SessionHolder } from '../shared/statement-route.js'
import { abandonOnAbort } from '../shared/abandon-on-abort.js'
import { SharedConnection, type SharedConnectionOwner } from './shared-connection.js'
import { ServiceTimes, type ServiceProfile } from './service-times.js'

const RESOLVED = Promise.resolve()

/** A statement waiting for room on a shared connection. */
interface Waiter {
  /** Leaves the queue and places the statement (it may still have to take a lease). */
  readonly start: () => void
  readonly timer: NodeJS.Timeout
}

/** Statements in flight on one shared connection at most; beyond it, another connection (or the pool's queue). */
export const DEFAULT_PIPELINE_DEPTH = 16
/** A shared lease takes new statements for this long at most, then drains and goes back to the pool. */
const MAX_ROTATE_MILLIS = 1_000

export interface PipelineDispatcherSettings {
  readonly pool: Pool<Client>
  readonly depth: number
  /** Exclusive connections the driver's handles hold: with the shared ones, what the pool has lent. */
  readonly exclusiveCount: () => number
  /** Handles waiting for the pool to lend them a connection (a transaction, a bind): shared connections make way. */
  readonly bindsWaiting: () => number
}

/**
 * The shared target of `pipeline: true`: spreads single statements over
 * shared connections, at most `depth` in flight on each.
 *
 * Placement: the connection this event-loop turn's statements already go
 * to (one write carries them all); else an idle shared connection (none in
 * flight); else a new lease while the pool seems to have a free one
 * (shared plus exclusive below `max`); else the connection whose
 * statements in flight are expected to end first (learned service times,
 * see `ServiceTimes`), below `depth`; else the statement waits like any
 * caller (`acquireTimeoutMillis`, `maxWaiting`, its abort signal): for a
 * lease in the pool's queue, or, with the budget spent, for room in this
 * dispatcher's FIFO.
 *
 * A shared lease goes back to the pool once nothing is in flight on it and
 * no handle pins it (see `SharedConnection`), at the end of that event-loop
 * turn (the next statement usually comes within it); at once while handles
 * wait for the pool. It takes no new statements after its rotation time,
 * so leak detection and `maxLeaseMillis` keep their meaning; and while
 * handles wait for the pool, one shared connection per waiting handle
 * drains and goes back (never the last: single statements keep a way
 * through while slow statements and transactions hold the rest).
 */
export class PipelineDispatcher implements SharedTarget, SharedConnectionOwner {
  readonly #pool: Pool<Client>
  readonly #depth: number
  readonly #max: number
  readonly #exclusiveCount: () => number
  readonly #bindsWaiting: () => number
  readonly #rotateMillis: number
  readonly #shared: SharedConnection[] = []
  readonly serviceTimes = new ServiceTimes()
  /** Leases being acquired for new shared connections. */
  #growing = 0
  /** The latest lease being acquired, and how many statements wait for it rather than queue on their own. */
  #growth: { readonly done: Promise<unknown>; riders: number } | undefined
  /** Statements waiting for room: every shared connection at the depth cap and the pool's budget spent. FIFO. */
  readonly #waiting: Waiter[] = []

  constructor(settings: PipelineDispatcherSettings) {
    this.#pool = settings.pool
    this.#depth = settings.depth
    this.#max = settings.pool.config.max
    this.#exclusiveCount = settings.exclusiveCount
    this.#bindsWaiting = settings.bindsWaiting
    const { leakDetectionMillis, maxLeaseMillis } = settings.pool.config
    this.#rotateMillis = Math.min(
      MAX_ROTATE_MILLIS,
      leakDetectionMillis > 0 ? leakDetectionMillis / 2 : MAX_ROTATE_MILLIS,
      maxLeaseMillis > 0 ? maxLeaseMillis / 2 : MAX_ROTATE_MILLIS,
    )
  }

  /** Shared connections now (for tests and diagnostics). */
  get connections(): readonly SharedConnection[] {
    return this.#shared
  }

  run<R>(
    compiledQuery: CompiledQuery,
    options: AbortOptions | undefined,
    holder?: SessionHolder,
  ): Promise<QueryResult<R>> {
    const signal = options?.signal
    if (signal?.aborted) {
      return Promise.reject(signal.reason)
    }
    if (this.#bindsWaiting() > 0) this.#makeWay()
    const profile = this.serviceTimes.profile(compiledQuery.sql)
    const connection = this.#place()
    if (connection !== undefined) {
      this.#joinBatch(connection)
      return connection.run<R>(compiledQuery, signal, holder, profile)
    }
    const growth = this.#growth
    if (growth !== undefined && growth.riders < this.#depth - 1) {
      // A lease is on its way with room for this one: wait for it and place
      // again. If it timed out, so do its riders (they shared its wait, never
      // longer than acquireTimeoutMillis); any other failure (its caller's
      // abort) sends them to acquire on their own.
      growth.riders++
      const again = (): Promise<QueryResult<R>> => this.run<R>(compiledQuery, options, holder)
      const placed = growth.done.then(again, (error: unknown) =>
        error instanceof PoolTimeoutError || error instanceof PoolQueueFullError ? Promise.reject(error) : again(),
      )
      return signal === undefined ? placed : abandonOnAbort(placed, signal)
    }
    if (this.#budgetSpent()) {
      return this.#wait<R>(compiledQuery, options, holder)
    }
    return this.#grow<R>(compiledQuery, signal, holder, profile)
  }

  /**
   * The connection this event-loop turn's statements go to: one write carries them
   * all (see `SharedConnection.run`). On loopback and LAN alike a write is
   * the dearest part of a statement (the kernel's send path, the server's
   * wake-up), so statements arriving together leave together.
   */
  #batch: SharedConnection | undefined
  readonly #endBatch = (): void => {
    this.#batch = undefined
  }

  #joinBatch(connection: SharedConnection): void {
    if (this.#batch === undefined) setImmediate(this.#endBatch)
    this.#batch = connection
  }

  /**
   * Handles wait in the pool's queue while shared connections hold the
   * budget: one shared connection per waiting handle takes no new
   * statements, drains and goes back, rather than at its rotation time.
   */
  #makeWay(): void {
    // The last one stays: single statements keep a way through while slow statements hold the rest.
    const accepting = this.#accepting()
    if (accepting < 2 || this.#shared.length - accepting >= this.#bindsWaiting()) return
    // The one expected to drain first: the waiting handle gets it soonest.
    const now = performance.now()
    let soonest: SharedConnection | undefined
    let soonestWait = Infinity
    for (const connection of this.#shared) {
      if (!connection.accepting) continue
      const wait = connection.expectedWait(now)
      if (wait < soonestWait) {
        soonest = connection
        soonestWait = wait
      }
    }
    soonest!.accepting = false
    if (this.#batch === soonest) this.#batch = undefined
    if (soonest!.idle) void this.idle(soonest!)
  }

  #accepting(): number {
    let accepting = 0
    for (const connection of this.#shared) if (connection.accepting) accepting++
    return accepting
  }

  /** @internal A shared statement ended: a waiting statement may have room now. */
  freed(): void {
    if (this.#waiting.length > 0) this.#serve()
  }

  /**
   * Shared connections exist (or are being opened) and cannot grow: the
   * pool's `max` is taken by them and the driver's exclusive handles.
   * Waiting for room on one of them then beats the pool's queue, which only
   * a rotation would serve.
   */
  #budgetSpent(): boolean {
    const shared = this.#shared.length + this.#growing
    return shared > 0 && shared + this.#exclusiveCount() >= this.#max
  }

  /** Waits for room, like a pool caller: FIFO, `acquireTimeoutMillis`, `maxWaiting`, the abort signal. */
  #wait<R>(compiledQuery: CompiledQuery, options: AbortOptions | undefined, holder: SessionHolder | undefined) {
    const { maxWaiting, acquireTimeoutMillis } = this.#pool.config
    if (this.#waiting.length >= maxWaiting) {
      return Promise.reject(new PoolQueueFullError(this.#pool.name, maxWaiting, this.#pool.stats().size))
    }
    return new Promise<QueryResult<R>>((resolve, reject) => {
      const signal = options?.signal
      const startedAt = performance.now()
      const waiter: Waiter = {
        start: () => {
          leave()
          this.run<R>(compiledQuery, options, holder).then(resolve, reject)
        },
        timer: setTimeout(() => {
          leave()
          reject(this.#timeoutError(startedAt))
        }, acquireTimeoutMillis),
      }
      const onAbort = (): void => {
        leave()
        reject(signal!.reason)
      }
      const leave = (): void => {
        clearTimeout(waiter.timer)
        signal?.removeEventListener('abort', onAbort)
        const index = this.#waiting.indexOf(waiter)
        if (index >= 0) this.#waiting.splice(index, 1)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(waiter)
    })
  }

  /** Starts waiting statements while there is room (or budget to grow). */
  #serve(): void {
    while (this.#waiting.length > 0 && (this.#place() !== undefined || !this.#budgetSpent())) {
      this.#waiting[0]!.start()
    }
  }

  #timeoutError(startedAt: number): PoolTimeoutError {
    const stats = this.#pool.stats()
    return new PoolTimeoutError(this.#pool.name, {
      reason: 'pool-full',
      waitedMillis: Math.round(performance.now() - startedAt),
      size: stats.size,
      used: stats.used,
      idle: stats.idle,
      pending: stats.pending + this.#waiting.length,
      max: stats.max,
      holders: this.#pool.holders(),
    })
  }

  /** Where a statement goes now, or `undefined`: take a new lease. */
  #place(): SharedConnection | undefined {
    const batch = this.#batch
    if (batch !== undefined && batch.inFlight < this.#depth && batch.usable) return batch
    // Load: statements in flight plus handles pinning the connection (a
    // db.connection() that may claim it): fewer pins, fewer claims that collide.
    let best: SharedConnection | undefined
    let bestLoad = Infinity
    const shared = this.#shared
    for (let i = 0; i < shared.length; i++) {
      const candidate = shared[i]!
      const load = candidate.inFlight + candidate.pins
      if (candidate.accepting && load < bestLoad) {
        best = candidate
        bestLoad = load
        if (load === 0) break
      }
    }
    if (best === undefined) return undefined
    if (!best.usable) {
      // Rotated out or broken: it drains (or goes back now); look again without it.
      if (best.idle) void this.idle(best)
      return this.#place()
    }
    if (best.inFlight === 0) return best
    // Another connection if the pool seems to have one free (one lease at a time).
    if (this.#growing === 0 && shared.length + this.#exclusiveCount() < this.#max) return undefined
    // Every connection busy: the shortest expected wait below the depth cap,
    // so that nothing queues behind a long-running statement while it can go elsewhere.
    const now = performance.now()
    let bestWait = Infinity
    best = undefined
    for (let i = 0; i < shared.length; i++) {
      const candidate = shared[i]!
      if (!candidate.accepting || candidate.inFlight >= this.#depth) continue
      const wait = candidate.expectedWait(now)
      if (wait < bestWait) {
        best = candidate
        bestWait = wait
      }
    }
    if (best === undefined || best.usable) return best
    if (best.idle) void this.idle(best)
    return this.#place()
  }

  async #grow<R>(
    compiledQuery: CompiledQuery,
    signal: AbortSignal | undefined,
    holder: SessionHolder | undefined,
    profile: ServiceProfile,
  ): Promise<QueryResult<R>> {
    let lease: Lease<Client>
    this.#growing++
    const site = holder?.site
    const acquiring = this.#pool.acquire(signal || site ? ({ signal, site } satisfies AcquireOptions) : undefined)
    const growth = (this.#growth = { done: acquiring, riders: 0 })
    try {
      lease = await acquiring
    } finally {
      this.#growing--
      if (this.#growth === growth) this.#growth = undefined
    }
    const connection = new SharedConnection(lease, this.#rotateMillis, this)
    this.#shared.push(connection)
    this.#joinBatch(connection)
    const result = connection.run<R>(compiledQuery, signal, holder, profile)
    // After this lease's riders (their turns are already queued): they came first.
    if (this.#waiting.length > 0) queueMicrotask(() => this.#serve())
    return result
  }

  /**
   * @internal Nothing in flight, no pins. Under load the next statement
   * comes within the same event-loop turn (a caller's next query, another caller's
   * result): the lease stays for it rather than going back to the pool and
   * being taken again. Still idle at the end of the turn, it goes back.
   */
  quiet(connection: SharedConnection): void {
    // Handles waiting for the pool get it at once, unless it is the last way through (see #makeWay).
    if (!connection.usable || (this.#bindsWaiting() > 0 && this.#accepting() > 1)) {
      void this.idle(connection)
      return
    }
    if (this.#quiet.length === 0) process.nextTick(this.#returnQuiet)
    this.#quiet.push(connection)
  }

  readonly #quiet: SharedConnection[] = []
  readonly #returnQuiet = (): void => {
    const quiet = this.#quiet.splice(0)
    for (const connection of quiet) {
      if (connection.idle) void this.idle(connection)
    }
  }

  /** @internal Nothing in flight, no pins: the lease goes back to the pool. */
  idle(connection: SharedConnection): Promise<void> {
    if (!this.#remove(connection)) return RESOLVED
    connection.detach()
    // The pool's release does the hygiene as for any lease; a broken connection is closed and replaced.
    const released = connection.lease.isHeld ? connection.lease.release().catch(() => undefined) : RESOLVED
    // Budget back: a waiting statement takes a new lease (the pool's queue decides who is first).
    if (this.#waiting.length > 0) void released.then(() => this.#serve())
    return released
  }

  /** @internal A handle took the connection over. */
  claimed(connection: SharedConnection): void {
    this.#remove(connection)
  }

  #remove(connection: SharedConnection): boolean {
    const index = this.#shared.indexOf(connection)
    if (index < 0) return false
    this.#shared.splice(index, 1)
    return true
  }
}
