import type { Connector, InterruptScope } from '../connector/connector.js'
import type { LeaseRevokeReason } from '../errors/lease-revoked-error.js'
import { PoolClosedError } from '../errors/pool-closed-error.js'
import { PoolConfigError } from '../errors/pool-config-error.js'
import { PoolQueueFullError } from '../errors/pool-queue-full-error.js'
import { PoolTimeoutError, type PoolTimeoutReason } from '../errors/pool-timeout-error.js'
import { describeValue } from '../util/describe-value.js'
import { applicationFrame, captureAcquireSite, type AcquireSite } from './acquire-site.js'
import { ConnectionState } from './connection-state.js'
import { ConnectionSupply } from './connection-supply.js'
import type { HolderInfo } from './holder-info.js'
import { Lease, type LeaseOwner } from './lease.js'
import { LeaseWatch } from './lease-watch.js'
import { PoolEventBus } from './pool-event-bus.js'
import type { DestroyReason, PoolEventListener, PoolEventName } from './pool-events.js'
import type { PoolEntry } from './pool-entry.js'
import { PoolMetrics } from './pool-metrics.js'
import { MAX_TIMER_MILLIS, resolvePoolOptions, type PoolConfig, type PoolOptions } from './pool-options.js'
import type { PoolStats } from './pool-stats.js'
import { ReleasePipeline } from './release-pipeline.js'
import { settleBefore } from './settle-before.js'
import type { TarnPool } from './tarn-pool.js'
import { abortReason, Waiters } from './waiters.js'

export interface AcquireOptions {
  /** Aborting takes the caller out of the queue (or off a validation ping); the acquire rejects with the signal's reason. */
  readonly signal?: AbortSignal
}

export interface DestroyOptions {
  /** How long to wait for held leases to come back before revoking them. Default 5000. */
  readonly graceMillis?: number
}

const DEFAULT_GRACE_MILLIS = 5_000

/**
 * A pool of database connections with strict release hygiene: a connection
 * goes back to the idle set only when it has no open or failed transaction,
 * no statement in flight and (per `reset`) no leftover session state.
 *
 * Exhaustion policy: queue with timeout. The pool grows to `max`; beyond
 * that callers wait in a bounded FIFO queue (`maxWaiting`) for at most
 * `acquireTimeoutMillis`, then get an error that says why.
 *
 * Each connection moves through explicit states (see `ConnectionState`);
 * `#handOver` is the one gate before a connection goes to a caller or back
 * to the idle set, and `#evict` the one way out.
 */
export class Pool<C> {
  readonly config: PoolConfig<C>
  readonly connector: Connector<C>

  readonly #events: PoolEventBus
  readonly #metrics = new PoolMetrics()
  readonly #supply: ConnectionSupply<C>
  readonly #store: TarnPool<PoolEntry<C>>
  readonly #waiters: Waiters<C>
  readonly #pipeline: ReleasePipeline<C>
  readonly #watch: LeaseWatch<C>
  readonly #owner: LeaseOwner<C>
  #closing = false
  #destroyed: Promise<void> | undefined
  #leaseCounter = 0
  /** Set while `destroy()` waits: told whenever a lease ends or a connection leaves. */
  #onDrain: (() => void) | undefined

  constructor(connector: Connector<C>, options?: PoolOptions<C>) {
    const config = resolvePoolOptions(options)
    this.config = config
    this.connector = connector
    this.#events = new PoolEventBus(config.name, config.log)
    this.#waiters = new Waiters<C>(
      () => {
        // One snapshot of the holders for every caller that gives up in this tick.
        const holders = this.holders()
        return (waiter) => this.#timeoutError(waiter.startedAt, holders)
      },
      () => this.#metrics.aborted++,
    )
    this.#supply = new ConnectionSupply(connector, config, this.#metrics, this.#events, {
      waiting: () => this.#waiters.size,
      opened: () => this.#serveFromIdle(),
      broke: (entry, error) => this.#onBroken(entry, error),
      // Waiters fail at once only when no open connection could serve them.
      refused: (error) => {
        if (this.#store.numFree() + this.#store.numUsed() === 0) {
          this.#waiters.failAll(error)
        }
      },
    })
    this.#store = this.#supply.store
    this.#pipeline = new ReleasePipeline(config, this.#metrics, this.#events, {
      handOver: (entry) => this.#handOver(entry),
      evict: (entry, reason) => this.#evict(entry, reason),
    })
    this.#watch = new LeaseWatch<C>(config, {
      taken: () => this.#store.usedResources(),
      leaked: (entry, held) => this.#reportLeak(entry, held),
      overdue: (entry) => this.#revoke(entry, 'max-lease'),
      collected: (entry) => this.#reclaim(entry),
    })
    this.#owner = {
      release: (entry, leaseId) => {
        const now = performance.now()
        const held = this.#endLease(entry, now)
        if (this.#events.wants('release')) {
          this.#events.emit('release', { leaseId, heldMillis: held })
        }
        return this.#pipeline.run(entry, leaseId, now)
      },
      discard: (entry, leaseId, reason) => {
        this.#endLease(entry, performance.now())
        if (reason !== undefined && this.#events.wants('error')) {
          this.#events.emit('error', { error: reason, context: `lease #${leaseId} discarded its connection` })
        }
        this.#evict(entry, 'discarded')
        return Promise.resolve()
      },
      interrupt: (entry, seq, scope) => this.#interrupt(entry, seq, scope),
    }
  }

  get name(): string {
    return this.config.name
  }

  /** True once `destroy()` was called. */
  get closed(): boolean {
    return this.#closing
  }

  /**
   * Resolves once the `min` connections (created in parallel at start) are
   * open; rejects with `PoolConnectError` when the server cannot be used at
   * all (authentication, unknown database or host).
   */
  ready(): Promise<void> {
    return this.#supply.ready()
  }

  /** Borrows a connection. Release the lease (always: `try … finally`). */
  acquire(options?: AcquireOptions): Promise<Lease<C>> {
    const startedAt = performance.now()
    if (this.#closing) {
      return Promise.reject(new PoolClosedError(this.name))
    }
    const signal = options?.signal
    if (signal?.aborted) {
      return Promise.reject(abortReason(signal))
    }
    const site = this.config.leakDetectionMillis > 0 ? captureAcquireSite(Pool.prototype.acquire) : undefined
    const entry = this.#takeIdle()
    if (entry !== undefined && this.#lendable(entry, startedAt)) {
      return Promise.resolve(this.#lend(entry, startedAt, startedAt, true, site))
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
    if (this.#closing) {
      throw new PoolClosedError(this.name)
    }
    const signal = options?.signal
    signal?.throwIfAborted()
    const site = this.config.leakDetectionMillis > 0 ? captureAcquireSite(Pool.prototype.use) : undefined
    const entry = this.#takeIdle()
    // No GC tracking here: `use` releases in `finally`, whatever `fn` does.
    const lease =
      entry !== undefined && this.#lendable(entry, startedAt)
        ? this.#lend(entry, startedAt, startedAt, false, site)
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
      idle: store.numFree(),
      used: store.numUsed(),
      pending: this.#waiters.size,
      creating: store.numPendingCreates(),
    })
  }

  /** One entry per held lease: for how long, in which transaction state, acquired where. */
  holders(): HolderInfo[] {
    const now = performance.now()
    const holders: HolderInfo[] = []
    for (const entry of this.#store.usedResources()) {
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
        new PoolConfigError([`graceMillis must be an integer from 0 to ${MAX_TIMER_MILLIS}, got ${describeValue(grace)}`]),
      )
    }
    this.#destroyed ??= this.#shutdown(grace)
    return this.#destroyed
  }

  // ---------------------------------------------------------------- lending

  /** An idle connection, reserved for this caller; none while callers are queued (FIFO). */
  #takeIdle(): PoolEntry<C> | undefined {
    if (this.#waiters.size > 0) {
      return undefined
    }
    const entry = this.#store.takeIdle()
    entry?.moveTo(ConnectionState.Reserved)
    return entry
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
        return this.#lend(entry, startedAt, performance.now(), trackGc, site)
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
  async #checkOut(entry: PoolEntry<C>, startedAt: number, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    const now = performance.now()
    if (entry.isBroken || now >= entry.retireAt) {
      this.#evict(entry, entry.isBroken ? 'broken' : 'retired')
      return false
    }
    if (this.#lendable(entry, now)) {
      return true
    }
    const pingDeadline = now + this.config.createTimeoutMillis
    const ping = entry.handle.ping()
    const outcome = await settleBefore(ping, Math.min(pingDeadline, deadline), signal)
    if (outcome === 'done' && !this.#closing && !entry.isBroken) {
      return true
    }
    if (outcome === 'aborted' || (outcome === 'late' && deadline < pingDeadline)) {
      // The caller gave up first: the connection finishes its check without it.
      void settleBefore(ping, pingDeadline).then((late) => {
        if (late === 'done') {
          this.#handOver(entry)
        } else {
          this.#evict(entry, 'failed-validation')
        }
      })
      if (outcome === 'aborted') {
        this.#metrics.aborted++
        throw abortReason(signal)
      }
      throw this.#timeoutError(startedAt, this.holders())
    }
    if (this.#closing) {
      this.#evict(entry, 'pool-destroyed')
      throw new PoolClosedError(this.name)
    }
    this.#evict(entry, entry.isBroken ? 'broken' : 'failed-validation')
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
    if (this.#closing) {
      return Promise.reject(new PoolClosedError(this.name))
    }
    const store = this.#store
    // Room to grow means this caller gets a connection of its own soon; the
    // queue bound only counts callers waiting beyond what the pool can open.
    const room = Math.max(0, this.config.max - store.numUsed() - store.numFree() - store.numPendingCreates())
    if (this.#waiters.size - room >= this.config.maxWaiting) {
      this.#metrics.queueFull++
      return Promise.reject(new PoolQueueFullError(this.name, this.config.maxWaiting, store.numUsed()))
    }
    const waiting = this.#waiters.join(startedAt, deadline, signal, trackGc, site)
    this.#supply.grow()
    return waiting
  }

  /** Hands idle connections (new ones, typically) to queued callers. */
  #serveFromIdle(): void {
    while (this.#waiters.size > 0) {
      const entry = this.#store.takeIdle()
      if (entry === undefined) {
        return
      }
      entry.moveTo(ConnectionState.Reserved)
      this.#handOver(entry)
    }
  }

  /**
   * The gate: the only way a reserved or returning connection goes to a
   * caller or back to the idle set. It re-checks what may have changed
   * while nobody looked (a break, retirement, shutdown).
   */
  #handOver(entry: PoolEntry<C>): void {
    const now = performance.now()
    if (this.#closing || entry.isBroken || now >= entry.retireAt) {
      this.#evict(entry, this.#closing ? 'pool-destroyed' : entry.isBroken ? 'broken' : 'retired')
      return
    }
    entry.acquireSite = undefined
    const waiter = this.#waiters.next()
    if (waiter !== undefined) {
      waiter.resolve(this.#lend(entry, waiter.startedAt, now, waiter.trackGc, waiter.site))
      return
    }
    entry.moveTo(ConnectionState.Idle)
    entry.idleSince = now
    if (this.config.allowExitOnIdle) {
      entry.handle.setKeepsProcessAlive?.(false)
    }
    this.#store.releaseResource(entry)
  }

  #lend(entry: PoolEntry<C>, startedAt: number, now: number, trackGc: boolean, site: AcquireSite | undefined): Lease<C> {
    const leaseId = ++this.#leaseCounter
    entry.moveTo(ConnectionState.Leased)
    entry.leaseSeq++
    entry.leaseId = leaseId
    entry.leasedAt = now
    entry.uses++
    entry.leakReported = false
    entry.revokeReason = undefined
    entry.acquireSite = site
    if (this.config.allowExitOnIdle) {
      entry.handle.setKeepsProcessAlive?.(true)
    }
    const lease = new Lease(this.#owner, entry, leaseId)
    if (trackGc) {
      this.#watch.track(lease, entry)
    }
    this.#metrics.acquires++
    const waited = now - startedAt
    this.#metrics.waitTimes.record(waited)
    if (this.#events.wants('acquire')) {
      this.#events.emit('acquire', { leaseId, waitedMillis: waited })
    }
    return lease
  }

  #timeoutError(startedAt: number, holders: HolderInfo[]): PoolTimeoutError {
    const store = this.#store
    const used = store.numUsed()
    const supply = this.#supply
    const recentFailure = supply.lastCreateError !== undefined && supply.lastCreateErrorAt >= startedAt
    let reason: PoolTimeoutReason = 'pool-full'
    if (recentFailure) {
      reason = 'server-refusing'
    } else if (used < this.config.max && store.numPendingCreates() > 0) {
      reason = 'create-slow'
    }
    const error = new PoolTimeoutError(this.name, {
      reason,
      waitedMillis: Math.round(performance.now() - startedAt),
      size: used + store.numFree(),
      used,
      idle: store.numFree(),
      pending: this.#waiters.size,
      max: this.config.max,
      ...(recentFailure ? { lastCreateError: supply.lastCreateError } : {}),
      holders,
    })
    this.#metrics.timeouts++
    this.#events.emit('timeout', { error })
    return error
  }

  // ------------------------------------------------- returning and leaving

  /** Leased → Returning: the lease is over. Returns how long it was held. */
  #endLease(entry: PoolEntry<C>, now: number): number {
    entry.moveTo(ConnectionState.Returning)
    this.#watch.untrack(entry)
    const held = now - entry.leasedAt
    this.#metrics.useTimes.record(held)
    this.#onDrain?.()
    return held
  }

  /** The one way out of the pool, from any state; the connector closes the connection. */
  #evict(entry: PoolEntry<C>, reason: DestroyReason): void {
    if (entry.state === ConnectionState.Evicted) {
      return
    }
    entry.moveTo(ConnectionState.Evicted)
    this.#watch.untrack(entry)
    this.#events.emit('destroy', { connectionId: entry.id, reason })
    if (!this.#store.evict(entry)) {
      this.#supply.closeStray(entry)
    }
    this.#onDrain?.()
    this.#supply.grow()
    this.#supply.ensureMin()
  }

  /** A break is accepted in every state; whoever holds the connection now sees it at its next check. */
  #onBroken(entry: PoolEntry<C>, error: Error): void {
    if (entry.brokenError !== undefined || entry.state === ConnectionState.Evicted) {
      return
    }
    entry.brokenError = error
    if (entry.state === ConnectionState.Idle) {
      this.#evict(entry, 'broken')
    }
    // A session a holder asked to kill was meant to die.
    if (!entry.sessionKilled) {
      this.#events.error(error, `connection #${entry.id} broke`)
    }
  }

  #interrupt(entry: PoolEntry<C>, seq: number, scope: InterruptScope): Promise<void> {
    if (scope === 'session') {
      // Whether or not the kill lands, this session is never lent again.
      entry.sessionKilled = true
    }
    const work = entry.handle.interrupt(scope, () => entry.leaseSeq === seq && entry.state === ConnectionState.Leased)
    entry.interrupting = work
    void work.finally(() => {
      if (entry.interrupting === work) {
        entry.interrupting = undefined
      }
    })
    return work
  }

  // ------------------------------------------------------ abandoned leases

  #reportLeak(entry: PoolEntry<C>, held: number): void {
    this.#metrics.leaks++
    const stack = entry.acquireSite?.stack
    const acquiredAt = applicationFrame(stack)
    const heldMillis = Math.round(held)
    this.#events.emitOrWarn(
      'leak',
      { leaseId: entry.leaseId, heldMillis, ...(acquiredAt ? { acquiredAt } : {}), ...(stack ? { stack } : {}) },
      'KYSELY_POOLED_LEAK',
      `lease #${entry.leaseId} held for ${heldMillis} ms (leakDetectionMillis ${this.config.leakDetectionMillis})` +
        (acquiredAt ? `, acquired at ${acquiredAt}` : ''),
    )
  }

  /** Takes a lease back from its holder (later use throws `LeaseRevokedError`) and cleans its connection. */
  #revoke(entry: PoolEntry<C>, reason: LeaseRevokeReason): void {
    if (entry.state !== ConnectionState.Leased) {
      return
    }
    const leaseId = entry.leaseId
    const now = performance.now()
    entry.revokeReason = reason
    entry.leaseSeq++
    this.#metrics.revoked++
    const held = Math.round(this.#endLease(entry, now))
    const payload = { leaseId, heldMillis: held, reason }
    if (reason === 'max-lease') {
      this.#events.emitOrWarn('revoke', payload, 'KYSELY_POOLED_REVOKE', `lease #${leaseId} revoked after ${held} ms (maxLeaseMillis)`)
    } else {
      this.#events.emit('revoke', payload)
    }
    void this.#pipeline.run(entry, leaseId, now)
  }

  /** A lease dropped while held: whatever its holder was doing is unknown, so the connection is closed. */
  #reclaim(entry: PoolEntry<C>): void {
    if (entry.state !== ConnectionState.Leased) {
      return
    }
    const leaseId = entry.leaseId
    entry.revokeReason = 'garbage-collected'
    entry.leaseSeq++
    this.#metrics.reclaimed++
    const held = Math.round(this.#endLease(entry, performance.now()))
    this.#events.emitOrWarn(
      'revoke',
      { leaseId, heldMillis: held, reason: 'garbage-collected' },
      'KYSELY_POOLED_REVOKE',
      `lease #${leaseId} was garbage-collected while held (after ${held} ms); its connection was closed`,
    )
    // Cancel first: a server may keep running a statement whose client is gone.
    void entry.handle
      .interrupt('query', () => entry.state === ConnectionState.Returning)
      .finally(() => this.#evict(entry, 'reclaimed'))
  }

  // --------------------------------------------------------------- shutdown

  async #shutdown(graceMillis: number): Promise<void> {
    this.#closing = true
    this.#watch.stop()
    this.#supply.stop()
    this.#waiters.failAll(new PoolClosedError(this.name))
    const store = this.#store
    for (const entry of store.idleResources()) {
      this.#evict(entry, 'pool-destroyed')
    }
    const leased = () => store.usedResources().filter((entry) => entry.state === ConnectionState.Leased)
    await this.#drain(() => leased().length === 0, graceMillis)
    for (const entry of leased()) {
      this.#revoke(entry, 'pool-destroyed')
    }
    // Each returning or validating connection is bounded (cleanupTimeoutMillis, the ping's bound).
    await this.#drain(() => store.numUsed() === 0, undefined)
    await store.destroy()
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
      this.#onDrain = () => {
        if (done()) {
          this.#onDrain = undefined
          finish()
        }
      }
    }).finally(() => {
      this.#onDrain = undefined
    })
  }
}

/** Creates a pool: `createPool(postgresConnector(url), { max: 10 })`. */
export function createPool<C>(connector: Connector<C>, options?: PoolOptions<C>): Pool<C> {
  return new Pool(connector, options)
}
