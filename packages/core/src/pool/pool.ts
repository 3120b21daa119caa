import type { Connector } from '../connector/connector.js'
import { PoolClosedError } from '../errors/pool-closed-error.js'
import { PoolConfigError } from '../errors/pool-config-error.js'
import { PoolQueueFullError } from '../errors/pool-queue-full-error.js'
import { PoolTimeoutError, type PoolTimeoutReason } from '../errors/pool-timeout-error.js'
import { describeValue } from '../util/describe-value.js'
import { AcquireSites, applicationFrame, type AcquireSite } from './acquire-site.js'
import { ConnectionState } from './connection-state.js'
import { ConnectionLifecycle } from './connection-lifecycle.js'
import type { HolderInfo } from '../errors/holder-info.js'
import type { Lease } from './lease.js'
import { PoolEventBus } from './pool-event-bus.js'
import type { PoolEventListener, PoolEventName } from './pool-events.js'
import type { PoolEntry } from './pool-entry.js'
import { PoolMetrics } from './pool-metrics.js'
import { MAX_TIMER_MILLIS, resolvePoolOptions, type PoolConfig, type PoolOptions } from './pool-options.js'
import type { PoolStats } from './pool-stats.js'
import { settleBefore } from './settle-before.js'
import type { ConnectionStore } from './connection-store.js'
import { abortReason, Waiters } from './waiters.js'

export interface AcquireOptions {
  /** Aborting takes the caller out of the queue (or off a validation ping); the acquire rejects with the signal's reason. */
  readonly signal?: AbortSignal
  /**
   * Where the caller asked, for leak reports and timeout errors, when the
   * pool's own stack cannot show it (the caller acquires after an `await`,
   * which cuts the synchronous stack). Its `stack` is read only if the lease
   * is reported; e.g. an object filled by `Error.captureStackTrace`.
   */
  readonly site?: { readonly stack?: string }
}

export interface DestroyOptions {
  /** How long to wait for held leases to come back before revoking them. Default 5000. */
  readonly graceMillis?: number
}

const DEFAULT_GRACE_MILLIS = 5_000

/** Each pool's store, for tests that check the lists against the states (not exported by the package). */
const STORES = new WeakMap<object, ConnectionStore<unknown>>()

/** @internal The store of `pool`: its entries filed by state. */
export function storeOf<C>(pool: Pool<C>): ConnectionStore<C> {
  return STORES.get(pool) as ConnectionStore<C>
}

/**
 * A pool of database connections with strict release hygiene: a connection
 * goes back to the idle set only when it has no open or failed transaction,
 * no statement in flight and (per `reset`) no leftover session state.
 *
 * Exhaustion policy: queue with timeout. The pool grows to `max`; beyond
 * that callers wait in a bounded FIFO queue (`maxWaiting`) for at most
 * `acquireTimeoutMillis`, then get an error that says why.
 *
 * This class is the public front: acquiring (with validation bounded by
 * the caller's deadline and signal), queueing, stats and shutdown. Each
 * connection's moves between its states happen in `ConnectionLifecycle`.
 */
export class Pool<C> {
  readonly config: PoolConfig<C>
  readonly connector: Connector<C>

  readonly #events: PoolEventBus
  readonly #metrics = new PoolMetrics()
  readonly #waiters: Waiters<C>
  readonly #lifecycle: ConnectionLifecycle<C>
  readonly #store: ConnectionStore<C>
  readonly #sites: AcquireSites
  #destroyed: Promise<void> | undefined

  constructor(connector: Connector<C>, options?: PoolOptions<C>) {
    const config = resolvePoolOptions(options)
    this.config = config
    this.connector = connector
    this.#events = new PoolEventBus(config.name, config.log)
    this.#sites = new AcquireSites(config.leakDetectionMillis, config.captureEveryAcquireSite)
    this.#waiters = new Waiters<C>(
      () => {
        // One snapshot of the holders for every caller that gives up in this tick.
        const holders = this.holders()
        return (waiter) => this.#timeoutError(waiter.startedAt, holders)
      },
      () => this.#metrics.aborted++,
    )
    this.#lifecycle = new ConnectionLifecycle(connector, config, this.#metrics, this.#events, this.#waiters)
    this.#store = this.#lifecycle.store
    STORES.set(this, this.#store as ConnectionStore<unknown>)
  }

  get name(): string {
    return this.config.name
  }

  /** True once `destroy()` was called. */
  get closed(): boolean {
    return this.#lifecycle.closing
  }

  /**
   * Resolves once the `min` connections (created in parallel at start) are
   * open; rejects with `PoolConnectError` when the server cannot be used at
   * all (authentication, unknown database or host).
   */
  ready(): Promise<void> {
    return this.#lifecycle.supply.ready()
  }

  /** Borrows a connection. Release the lease (always: `try … finally`). */
  acquire(options?: AcquireOptions): Promise<Lease<C>> {
    const startedAt = performance.now()
    if (this.#lifecycle.closing) {
      return Promise.reject(new PoolClosedError(this.name))
    }
    const signal = options?.signal
    if (signal?.aborted) {
      return Promise.reject(abortReason(signal))
    }
    const site = this.#sites.site(options?.site, Pool.prototype.acquire, startedAt)
    const entry = this.#takeIdle()
    if (entry === undefined) {
      // Straight to the queue: the caller gets the queue's own promise, with
      // no async frame around it (each one costs ticks when it settles).
      return this.#enqueue(startedAt, startedAt + this.config.acquireTimeoutMillis, signal, true, site)
    }
    if (this.#lendable(entry, startedAt)) {
      return Promise.resolve(this.#lifecycle.lend(entry, startedAt, startedAt, true, site))
    }
    return this.#acquireSlow(entry, startedAt, signal, true, site)
  }

  /**
   * Borrows a connection for the duration of `fn` and always gives it back.
   * The connection `fn` receives is the driver's own client: it must not be
   * used after `fn` settles (the lease it came with throws by then; the raw
   * client cannot).
   */
  async use<T>(fn: (connection: C, lease: Lease<C>) => Promise<T> | T, options?: AcquireOptions): Promise<T> {
    const startedAt = performance.now()
    if (this.#lifecycle.closing) {
      throw new PoolClosedError(this.name)
    }
    const signal = options?.signal
    signal?.throwIfAborted()
    const site = this.#sites.site(options?.site, Pool.prototype.use, startedAt)
    const entry = this.#takeIdle()
    // No GC tracking here: `use` releases in `finally`, whatever `fn` does.
    const lease =
      entry !== undefined && this.#lendable(entry, startedAt)
        ? this.#lifecycle.lend(entry, startedAt, startedAt, false, site)
        : await this.#acquireSlow(entry, startedAt, signal, false, site)
    try {
      return await fn(lease.connection, lease)
    } finally {
      if (lease.isHeld) {
        await lease.release()
      }
    }
  }

  stats(): PoolStats {
    const store = this.#store
    return this.#metrics.snapshot({
      name: this.name,
      min: this.config.min,
      max: this.config.max,
      idle: store.idleCount,
      used: store.takenCount,
      pending: this.#waiters.size,
      creating: store.openingCount,
    })
  }

  /** One entry per held lease: for how long, in which transaction state, acquired where. */
  holders(): HolderInfo[] {
    const now = performance.now()
    const holders: HolderInfo[] = []
    for (const entry of this.#store.taken()) {
      if (entry.state !== ConnectionState.Leased) {
        continue
      }
      const stack = entry.acquireSite?.stack
      holders.push(
        Object.freeze({
          leaseId: entry.leaseId,
          heldMillis: Math.round(now - entry.leasedAt),
          transaction: entry.isBroken ? 'unknown' : entry.handle.transactionState(),
          ...(stack ? { acquiredAt: applicationFrame(stack), stack } : {}),
        }),
      )
    }
    return holders.sort((a, b) => b.heldMillis - a.heldMillis)
  }

  on<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): this {
    this.#events.on(event, listener)
    return this
  }

  off<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): this {
    this.#events.off(event, listener)
    return this
  }

  /**
   * Stops new acquires (`PoolClosedError`), fails the queue, waits up to
   * `graceMillis` for held leases to come back, then revokes the rest
   * (rolling back their transactions) and closes everything. Always
   * finishes: every step after the grace period is bounded by
   * `cleanupTimeoutMillis` and the connectors' close timeouts.
   */
  destroy(options?: DestroyOptions): Promise<void> {
    const grace = options?.graceMillis ?? DEFAULT_GRACE_MILLIS
    if (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0 || grace > MAX_TIMER_MILLIS) {
      return Promise.reject(
        new PoolConfigError([
          `graceMillis must be an integer from 0 to ${MAX_TIMER_MILLIS}, got ${describeValue(grace)}`,
        ]),
      )
    }
    this.#destroyed ??= this.#shutdown(grace)
    return this.#destroyed
  }

  /** `await using pool = createPool(…)`: destroyed (default grace) at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy()
  }

  // ---------------------------------------------------------------- lending

  /** An idle connection, reserved for this caller; none while callers are queued (FIFO). */
  #takeIdle(): PoolEntry<C> | undefined {
    if (this.#waiters.size > 0) {
      return undefined
    }
    return this.#store.takeIdle()
  }

  /** Fit to lend without a round trip: not broken, not retired, not idle long enough to need a ping. */
  #lendable(entry: PoolEntry<C>, now: number): boolean {
    const validateAfter = this.config.validateAfterIdleMillis
    return !entry.isBroken && now < entry.retireAt && (validateAfter === 0 || now - entry.idleSince <= validateAfter)
  }

  async #acquireSlow(
    candidate: PoolEntry<C> | undefined,
    startedAt: number,
    signal: AbortSignal | undefined,
    trackGc: boolean,
    site: AcquireSite | undefined,
  ): Promise<Lease<C>> {
    const deadline = startedAt + this.config.acquireTimeoutMillis
    for (let entry = candidate; entry !== undefined; entry = this.#takeIdle()) {
      if (await this.#checkOut(entry, startedAt, deadline, signal)) {
        return this.#lifecycle.lend(entry, startedAt, performance.now(), trackGc, site)
      }
    }
    return this.#enqueue(startedAt, deadline, signal, trackGc, site)
  }

  /**
   * Checks a reserved idle connection before it is lent: true when it may
   * be. A ping (for one idle past `validateAfterIdleMillis`) is bounded by
   * the connect timeout and by this caller's deadline and signal; if the
   * caller gives up first, the connection finishes its check on its own.
   */
  async #checkOut(
    entry: PoolEntry<C>,
    startedAt: number,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const now = performance.now()
    if (entry.isBroken || now >= entry.retireAt) {
      this.#lifecycle.evict(entry, entry.isBroken ? 'broken' : 'retired')
      return false
    }
    if (this.#lendable(entry, now)) {
      return true
    }
    const pingDeadline = now + this.config.createTimeoutMillis
    const ping = entry.handle.ping()
    const outcome = await settleBefore(ping, Math.min(pingDeadline, deadline), signal)
    if (outcome === 'done' && !this.#lifecycle.closing && !entry.isBroken) {
      return true
    }
    if (outcome === 'aborted' || (outcome === 'late' && deadline < pingDeadline)) {
      // The caller gave up first: the connection finishes its check without it.
      void settleBefore(ping, pingDeadline).then((late) => {
        if (late === 'done') {
          this.#lifecycle.handOver(entry)
        } else {
          this.#lifecycle.evict(entry, 'failed-validation')
        }
      })
      if (outcome === 'aborted') {
        this.#metrics.aborted++
        throw abortReason(signal)
      }
      throw this.#timeoutError(startedAt, this.holders())
    }
    if (this.#lifecycle.closing) {
      this.#lifecycle.evict(entry, 'pool-destroyed')
      throw new PoolClosedError(this.name)
    }
    this.#lifecycle.evict(entry, entry.isBroken ? 'broken' : 'failed-validation')
    return false
  }

  /** Queues the caller; it is served by a release or a new connection, or times out. */
  #enqueue(
    startedAt: number,
    deadline: number,
    signal: AbortSignal | undefined,
    trackGc: boolean,
    site: AcquireSite | undefined,
  ): Promise<Lease<C>> {
    if (this.#lifecycle.closing) {
      return Promise.reject(new PoolClosedError(this.name))
    }
    const store = this.#store
    // Room to grow means this caller gets a connection of its own soon; the
    // queue bound only counts callers waiting beyond what the pool can open.
    const room = Math.max(0, this.config.max - store.total)
    if (this.#waiters.size - room >= this.config.maxWaiting) {
      this.#metrics.queueFull++
      return Promise.reject(new PoolQueueFullError(this.name, this.config.maxWaiting, store.takenCount))
    }
    const waiting = this.#waiters.join(startedAt, deadline, signal, trackGc, site)
    this.#lifecycle.supply.grow()
    return waiting
  }

  #timeoutError(startedAt: number, holders: HolderInfo[]): PoolTimeoutError {
    const store = this.#store
    const used = store.takenCount
    const supply = this.#lifecycle.supply
    const recentFailure = supply.lastCreateError !== undefined && supply.lastCreateErrorAt >= startedAt
    let reason: PoolTimeoutReason = 'pool-full'
    if (recentFailure) {
      reason = 'server-refusing'
    } else if (used < this.config.max && store.openingCount > 0) {
      reason = 'create-slow'
    }
    const error = new PoolTimeoutError(this.name, {
      reason,
      waitedMillis: Math.round(performance.now() - startedAt),
      size: used + store.idleCount,
      used,
      idle: store.idleCount,
      pending: this.#waiters.size,
      max: this.config.max,
      ...(recentFailure ? { lastCreateError: supply.lastCreateError } : {}),
      holders,
    })
    this.#metrics.timeouts++
    this.#events.emit('timeout', { error })
    return error
  }

  // --------------------------------------------------------------- shutdown

  async #shutdown(graceMillis: number): Promise<void> {
    const lifecycle = this.#lifecycle
    lifecycle.closing = true
    lifecycle.stopWatching()
    lifecycle.supply.stop()
    this.#waiters.failAll(new PoolClosedError(this.name))
    const store = this.#store
    for (const entry of [...store.idle()]) {
      lifecycle.evict(entry, 'pool-destroyed')
    }
    const leased = () => store.taken().filter((entry) => entry.state === ConnectionState.Leased)
    await this.#drain(() => leased().length === 0, graceMillis)
    for (const entry of leased()) {
      lifecycle.revoke(entry, 'pool-destroyed')
    }
    // A validation ping may be bounded by a long createTimeoutMillis: closing
    // the connection ends it now (its caller then gets PoolClosedError).
    for (const entry of store.taken().filter((taken) => taken.state === ConnectionState.Reserved)) {
      lifecycle.evict(entry, 'pool-destroyed')
    }
    // Each returning or validating connection is bounded (cleanupTimeoutMillis, the ping's bound).
    await this.#drain(() => store.takenCount === 0, undefined)
    // Connections still being opened are evicted as they arrive (the flag is up).
    await lifecycle.supply.settled()
    // Closes are bounded by the connector's close timeout.
    await lifecycle.settled()
    // Interrupts still in flight (a cancel socket, a control connection):
    // closing a connection ends its own, so this is a last bound, not a wait.
    await settleBefore(lifecycle.interruptsSettled(), performance.now() + this.config.cleanupTimeoutMillis)
  }

  /** Resolves when `done()` holds (re-checked whenever a lease ends or a connection leaves), or after `millis`. */
  #drain(done: () => boolean, millis: number | undefined): Promise<void> {
    if (done()) {
      return Promise.resolve()
    }
    return new Promise<void>((resolve) => {
      const timer = millis === undefined ? undefined : setTimeout(finish, millis)
      function finish(): void {
        clearTimeout(timer)
        resolve()
      }
      this.#lifecycle.onDrain = () => {
        if (done()) {
          this.#lifecycle.onDrain = undefined
          finish()
        }
      }
    }).finally(() => {
      this.#lifecycle.onDrain = undefined
    })
  }
}

/** Creates a pool: `createPool(postgresConnector(url), { max: 10 })`. */
export function createPool<C>(connector: Connector<C>, options?: PoolOptions<C>): Pool<C> {
  return new Pool(connector, options)
}
