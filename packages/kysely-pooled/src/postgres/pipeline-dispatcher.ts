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
import { abandonOnAbort, SharedConnection, type SharedConnectionOwner } from './shared-connection.js'

const RESOLVED = Promise.resolve()

/** Statements in flight on one shared connection at most; beyond it, another connection (or the pool's queue). */
export const DEFAULT_PIPELINE_DEPTH = 16
/** A shared lease takes new statements for this long at most, then drains and goes back to the pool. */
const MAX_ROTATE_MILLIS = 1_000

export interface PipelineDispatcherSettings {
  readonly pool: Pool<Client>
  readonly depth: number
  /** Exclusive connections the driver's handles hold: with the shared ones, what the pool has lent. */
  readonly exclusiveCount: () => number
}

/**
 * The shared target of `pipeline: true`: spreads single statements over
 * shared connections, least in flight first, at most `depth` each.
 *
 * Placement: an idle shared connection (none in flight) if there is one;
 * else a new lease while the pool seems to have a free one (shared plus
 * exclusive below `max`); else the least loaded shared connection below
 * `depth`; else the statement waits for a lease in the pool's queue like any
 * caller (`acquireTimeoutMillis`, `maxWaiting`, its abort signal). A shared
 * lease goes back to the pool once nothing is in flight on it and no handle
 * pins it (see `SharedConnection`), and takes no new statements after its
 * rotation time, so leak detection and `maxLeaseMillis` keep their meaning
 * and exclusive callers queued in the pool get their turn.
 */
export class PipelineDispatcher implements SharedTarget, SharedConnectionOwner {
  readonly #pool: Pool<Client>
  readonly #depth: number
  readonly #max: number
  readonly #exclusiveCount: () => number
  readonly #rotateMillis: number
  readonly #shared: SharedConnection[] = []
  /** Leases being acquired for new shared connections. */
  #growing = 0
  /** The latest lease being acquired, and how many statements wait for it rather than queue on their own. */
  #growth: { readonly done: Promise<unknown>; riders: number } | undefined

  constructor(settings: PipelineDispatcherSettings) {
    this.#pool = settings.pool
    this.#depth = settings.depth
    this.#max = settings.pool.config.max
    this.#exclusiveCount = settings.exclusiveCount
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
    const connection = this.#place()
    if (connection !== undefined) {
      return connection.run<R>(compiledQuery, signal, holder)
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
    return this.#grow<R>(compiledQuery, signal, holder)
  }

  /** Where a statement goes now, or `undefined`: take a new lease. */
  #place(): SharedConnection | undefined {
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
    if (best.inFlight >= this.#depth) return undefined
    // Another connection if the pool seems to have one free (one lease at a time).
    if (this.#growing === 0 && shared.length + this.#exclusiveCount() < this.#max) return undefined
    return best
  }

  async #grow<R>(
    compiledQuery: CompiledQuery,
    signal: AbortSignal | undefined,
    holder: SessionHolder | undefined,
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
    return connection.run<R>(compiledQuery, signal, holder)
  }

  /** @internal Nothing in flight, no pins: the lease goes back to the pool. */
  idle(connection: SharedConnection): Promise<void> {
    if (!this.#remove(connection)) return RESOLVED
    connection.detach()
    // The pool's release does the hygiene as for any lease; a broken connection is closed and replaced.
    return connection.lease.isHeld ? connection.lease.release().catch(() => undefined) : RESOLVED
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
