import { EventEmitter } from 'node:events'
import type { Connector, InterruptScope, TransactionState } from '../connector/connector.js'
import { LeaseRevokedError, type LeaseRevokeReason } from '../errors/lease-revoked-error.js'
import { PoolClosedError } from '../errors/pool-closed-error.js'
import { PoolConnectError } from '../errors/pool-connect-error.js'
import { PoolQueueFullError } from '../errors/pool-queue-full-error.js'
import { PoolTimeoutError, type PoolTimeoutReason } from '../errors/pool-timeout-error.js'
import { applicationFrame, captureAcquireSite, type AcquireSite } from './acquire-site.js'
import { CreateBackoff } from './create-backoff.js'
import type { HolderInfo } from './holder-info.js'
import { Lease, type LeaseOwner } from './lease.js'
import type { DestroyReason, PoolEventListener, PoolEventName, PoolEvents } from './pool-events.js'
import { resolvePoolOptions, type PoolConfig, type PoolOptions } from './pool-options.js'
import type { PoolStats } from './pool-stats.js'
import { ConnectionPhase, PooledConnection } from './pooled-connection.js'
import { TarnPool } from './tarn-pool.js'
import { TimeRecorder } from './time-figures.js'
import { WaitQueue, type QueuedWaiter } from './wait-queue.js'

export interface AcquireOptions {
  /** Aborting takes the caller out of the queue; the acquire rejects with the signal's reason. */
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

/** A caller in the queue. */
interface Waiter<C> extends QueuedWaiter {
  readonly startedAt: number
  readonly trackGc: boolean
  readonly site: AcquireSite | undefined
  readonly resolve: (lease: Lease<C>) => void
  readonly reject: (error: unknown) => void
  readonly signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

const DEFAULT_GRACE_MILLIS = 5_000
// How long a new lease waits before it is registered for garbage-collection
// tracking (see #adoptNursery).
const GC_NURSERY_MILLIS = 20
const GC_NURSERY_SIZE = 256
// A release that finds a statement still running waits this long for it
// before giving up on the connection (it is then interrupted and closed).
const SETTLE_TIMEOUT_MILLIS = 5_000
// tarn's own create timeout must never fire before ours (connector timeout
// plus the longest backoff), so it only guards against a connector bug.
const TARN_CREATE_SLACK_MILLIS = 10_000
const RESOLVED = Promise.resolve()

/**
 * A pool of database connections with strict release hygiene: a connection
 * goes back to the idle set only when it has no open or failed transaction,
 * no statement in flight and (per `reset`) no leftover session state.
 *
 * Exhaustion policy: queue with timeout. The pool grows to `max`; beyond
 * that callers wait in a bounded FIFO queue (`maxWaiting`) for at most
 * `acquireTimeoutMillis`, then get an error that says why.
 */
export class Pool<C> {
  readonly config: PoolConfig
  readonly connector: Connector<C>

  readonly #tarn: TarnPool<PooledConnection<C>>
  readonly #queue: WaitQueue<Waiter<C>>
  readonly #events = new EventEmitter()
  readonly #backoff = new CreateBackoff()
  readonly #owner: LeaseOwner<C>
  readonly #gcReclaimer: FinalizationRegistry<PooledConnection<C>>
  // Leases handed out since the last adoption (see #adoptNursery).
  #nurseryLeases: Lease<C>[] = []
  #nurseryConnections: PooledConnection<C>[] = []
  #nurseryTimer: ReturnType<typeof setTimeout> | undefined
  readonly #sweeper: ReturnType<typeof setInterval> | undefined
  readonly #ready: Promise<void>
  #readyResolve: () => void = () => {}
  #readyReject: (error: Error) => void = () => {}
  #readySettled = false

  #closing = false
  #destroyPromise: Promise<void> | undefined
  #leaseCounter = 0
  #connectionCounter = 0
  #lastCreateError: Error | undefined
  #lastCreateErrorAt = 0
  #drainWaiter: (() => void) | undefined

  // Counters for stats(); plain fields so the hot path is an increment.
  #acquires = 0
  #timeouts = 0
  #queueFull = 0
  #aborted = 0
  #created = 0
  #destroyed = 0
  #createErrors = 0
  #rolledBack = 0
  #reset = 0
  #leaks = 0
  #revoked = 0
  #reclaimed = 0
  readonly #waitTimes = new TimeRecorder()
  readonly #useTimes = new TimeRecorder()
  readonly #createTimes = new TimeRecorder()

  constructor(connector: Connector<C>, options?: PoolOptions) {
    this.config = resolvePoolOptions(options)
    this.connector = connector
    const config = this.config

    // tarn opens, reaps and closes connections and keeps the idle/used
    // lists. The wait queue is ours (see WaitQueue): tarn's costs a promise
    // chain and two timers per waiter and per hand-over.
    this.#tarn = new TarnPool<PooledConnection<C>>({
      create: () => this.#create(),
      destroy: (pooled) => this.#close(pooled),
      // tarn keeps `min` when reaping; we warm and replenish `min` ourselves.
      min: 0,
      max: config.max,
      createTimeoutMillis: config.createTimeoutMillis + CreateBackoff.MAX_DELAY_MILLIS + TARN_CREATE_SLACK_MILLIS,
      destroyTimeoutMillis: SETTLE_TIMEOUT_MILLIS,
      // 0 = keep idle connections: tarn needs a number, so "never" is its max.
      idleTimeoutMillis: config.idleTimeoutMillis > 0 ? config.idleTimeoutMillis : 2 ** 31 - 1,
      reapIntervalMillis: Math.min(1_000, Math.max(10, Math.floor((config.idleTimeoutMillis || 1_000) / 2))),
    })
    this.#tarn.on('destroySuccess', () => this.#ensureMin())
    this.#queue = new WaitQueue<Waiter<C>>((expired) => this.#timeOut(expired))

    this.#owner = {
      release: (pooled, leaseId) => this.#release(pooled, leaseId),
      discard: (pooled, leaseId, reason) => this.#discard(pooled, leaseId, reason),
      interrupt: (pooled, scope) => this.connector.interrupt(pooled.connection, scope),
      transactionState: (pooled) => this.connector.transactionState(pooled.connection),
      acceptSession: (pooled) => this.connector.acceptSession?.(pooled.connection),
    }

    // A lease dropped while held never comes back by itself: when it is
    // garbage-collected its connection is closed (not reused: whatever the
    // holder was doing is unknown).
    this.#gcReclaimer = new FinalizationRegistry((pooled) => this.#reclaim(pooled))

    const watchMillis = [config.leakDetectionMillis, config.maxLeaseMillis].filter((ms) => ms > 0)
    if (watchMillis.length > 0) {
      const every = Math.min(1_000, Math.max(5, Math.floor(Math.min(...watchMillis) / 10)))
      this.#sweeper = setInterval(() => this.#sweep(), every)
      this.#sweeper.unref()
    }

    this.#ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve
      this.#readyReject = reject
    })
    // Nobody may ever call ready(); its rejection must not crash the process.
    this.#ready.catch(() => {})
    if (config.min === 0) {
      this.#settleReady()
    } else {
      this.#ensureMin()
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
    return this.#ready
  }

  /** Borrows a connection. Release the lease (always: `try … finally`). */
  acquire(options?: AcquireOptions): Promise<Lease<C>> {
    const startedAt = performance.now()
    if (this.#closing) {
      return Promise.reject(new PoolClosedError(this.name))
    }
    if (options?.signal?.aborted) {
      return Promise.reject(abortReason(options.signal))
    }
    const site =
      this.config.leakDetectionMillis > 0 ? (options?.site ?? captureAcquireSite(Pool.prototype.acquire)) : undefined
    // Callers already queued come first (FIFO).
    const pooled = this.#queue.size === 0 ? this.#tarn.takeIdle() : undefined
    if (pooled !== undefined && this.#isUsable(pooled, startedAt)) {
      return Promise.resolve(this.#lend(pooled, startedAt, startedAt, true, site))
    }
    return this.#acquireSlow(pooled, startedAt, options?.signal, true, site)
  }

  /** Borrows a connection for the duration of `fn` and always gives it back. */
  async use<T>(fn: (connection: C, lease: Lease<C>) => Promise<T> | T, options?: AcquireOptions): Promise<T> {
    const startedAt = performance.now()
    if (this.#closing) {
      throw new PoolClosedError(this.name)
    }
    options?.signal?.throwIfAborted()
    const site = this.config.leakDetectionMillis > 0 ? (options?.site ?? captureAcquireSite(Pool.prototype.use)) : undefined
    const idle = this.#queue.size === 0 ? this.#tarn.takeIdle() : undefined
    // No GC tracking here: `use` releases in `finally`, whatever `fn` does.
    const lease =
      idle !== undefined && this.#isUsable(idle, startedAt)
        ? this.#lend(idle, startedAt, startedAt, false, site)
        : await this.#acquireSlow(idle, startedAt, options?.signal, false, site)
    try {
      return await fn(lease.connection, lease)
    } finally {
      if (lease.isHeld) {
        await lease.release()
      }
    }
  }

  stats(): PoolStats {
    const idle = this.#tarn.numFree()
    const used = this.#tarn.numUsed()
    return Object.freeze({
      name: this.name,
      min: this.config.min,
      max: this.config.max,
      size: idle + used,
      idle,
      used,
      pending: this.#queue.size,
      creating: this.#tarn.numPendingCreates(),
      acquires: this.#acquires,
      timeouts: this.#timeouts,
      queueFull: this.#queueFull,
      aborted: this.#aborted,
      created: this.#created,
      destroyed: this.#destroyed,
      createErrors: this.#createErrors,
      rolledBackOnRelease: this.#rolledBack,
      resetOnRelease: this.#reset,
      leaks: this.#leaks,
      revoked: this.#revoked,
      reclaimed: this.#reclaimed,
      waitMillis: this.#waitTimes.figures(),
      useMillis: this.#useTimes.figures(),
      createMillis: this.#createTimes.figures(),
    })
  }

  /** One entry per held lease: for how long, in which transaction state, acquired where. */
  holders(): HolderInfo[] {
    const now = performance.now()
    const holders: HolderInfo[] = []
    for (const pooled of this.#tarn.usedResources()) {
      if (pooled.phase !== ConnectionPhase.Leased) {
        continue
      }
      const stack = pooled.acquireSite?.stack
      holders.push(
        Object.freeze({
          leaseId: pooled.leaseId,
          heldMillis: Math.round(now - pooled.leasedAt),
          transaction: this.#transactionStateOf(pooled),
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
   * (rolling back their transactions) and closes everything. Always finishes.
   */
  destroy(options?: DestroyOptions): Promise<void> {
    this.#destroyPromise ??= this.#destroy(options?.graceMillis ?? DEFAULT_GRACE_MILLIS)
    return this.#destroyPromise
  }

  // ---------------------------------------------------------------- acquire

  #isUsable(pooled: PooledConnection<C>, now: number): boolean {
    const validateAfter = this.config.validateAfterIdleMillis
    return (
      !pooled.broken &&
      now < pooled.retireAt &&
      (validateAfter === 0 || now - pooled.idleSince <= validateAfter)
    )
  }

  async #acquireSlow(
    candidate: PooledConnection<C> | undefined,
    startedAt: number,
    signal: AbortSignal | undefined,
    trackGc: boolean,
    site: AcquireSite | undefined,
  ): Promise<Lease<C>> {
    signal?.throwIfAborted()
    let pooled = candidate
    for (;;) {
      if (pooled === undefined && this.#queue.size === 0) {
        pooled = this.#tarn.takeIdle()
      }
      if (pooled === undefined) {
        return this.#enqueue(startedAt, signal, trackGc, site)
      }
      if (await this.#fitForLending(pooled)) {
        return this.#lend(pooled, startedAt, performance.now(), trackGc, site)
      }
      pooled = undefined
    }
  }

  /**
   * Checks an idle connection about to be lent (broken, too old, idle too
   * long); destroys it if it is not fit. Only the ping is asynchronous.
   */
  #fitForLending(pooled: PooledConnection<C>): boolean | Promise<boolean> {
    const now = performance.now()
    if (pooled.broken) {
      this.#destroyLeased(pooled, 'broken')
      return false
    }
    if (now >= pooled.retireAt) {
      this.#destroyLeased(pooled, 'retired')
      return false
    }
    const validateAfter = this.config.validateAfterIdleMillis
    if (validateAfter === 0 || now - pooled.idleSince <= validateAfter) {
      return true
    }
    // A dead peer may never answer: the ping gets as long as a connect.
    return settleWithin(this.connector.ping(pooled.connection), this.config.createTimeoutMillis).then((alive) => {
      if (!alive) {
        this.#destroyLeased(pooled, 'failed-validation')
      }
      return alive
    })
  }

  /** Queues the caller; it is served by a release or a new connection, or times out. */
  #enqueue(
    startedAt: number,
    signal: AbortSignal | undefined,
    trackGc: boolean,
    site: AcquireSite | undefined,
  ): Promise<Lease<C>> {
    if (this.#closing) {
      return Promise.reject(new PoolClosedError(this.name))
    }
    const tarnPool = this.#tarn
    // Room to grow means this caller gets a connection of its own soon; the
    // queue bound only counts callers waiting beyond what the pool can open.
    const room = Math.max(0, this.config.max - tarnPool.numUsed() - tarnPool.numFree() - tarnPool.numPendingCreates())
    if (this.#queue.size - room >= this.config.maxWaiting) {
      this.#queueFull++
      return Promise.reject(new PoolQueueFullError(this.name, this.config.maxWaiting, tarnPool.numUsed()))
    }
    return new Promise<Lease<C>>((resolve, reject) => {
      const waiter: Waiter<C> = {
        deadline: startedAt + this.config.acquireTimeoutMillis,
        settled: false,
        startedAt,
        trackGc,
        site,
        resolve,
        reject,
        signal,
        onAbort: undefined,
      }
      if (signal !== undefined) {
        waiter.onAbort = () => {
          if (!waiter.settled) {
            this.#queue.remove(waiter)
            this.#aborted++
            reject(abortReason(signal))
          }
        }
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      this.#queue.push(waiter)
      this.#grow()
    })
  }

  /** Opens connections for queued callers, up to `max`. */
  #grow(): void {
    if (this.#closing) {
      return
    }
    const tarnPool = this.#tarn
    const creating = tarnPool.numPendingCreates()
    const room = this.config.max - tarnPool.numUsed() - tarnPool.numFree() - creating
    const wanted = Math.min(room, this.#queue.size - creating)
    for (let i = 0; i < wanted; i++) {
      tarnPool.createOne().then(
        () => this.#serveFromIdle(),
        () => {
          // Fatal failures already failed the queue; transient ones retry
          // (create() waits out the backoff first).
          if (this.#queue.size > 0) {
            setImmediate(() => this.#grow())
          }
        },
      )
    }
  }

  /** Hands idle connections (new ones, typically) to queued callers. */
  #serveFromIdle(): void {
    while (this.#queue.size > 0) {
      const pooled = this.#tarn.takeIdle()
      if (pooled === undefined) {
        return
      }
      if (pooled.broken || performance.now() >= pooled.retireAt) {
        this.#destroyLeased(pooled, pooled.broken ? 'broken' : 'retired')
        continue
      }
      this.#serve(this.#queue.shift()!, pooled)
    }
  }

  #serve(waiter: Waiter<C>, pooled: PooledConnection<C>): void {
    if (waiter.onAbort !== undefined) {
      waiter.signal!.removeEventListener('abort', waiter.onAbort)
    }
    waiter.resolve(this.#lend(pooled, waiter.startedAt, performance.now(), waiter.trackGc, waiter.site))
  }

  #timeOut(expired: Waiter<C>[]): void {
    // One snapshot for every caller that gives up in this tick.
    const holders = this.holders()
    for (const waiter of expired) {
      if (waiter.onAbort !== undefined) {
        waiter.signal!.removeEventListener('abort', waiter.onAbort)
      }
      waiter.reject(this.#timeoutError(waiter.startedAt, holders))
    }
  }

  #failWaiters(error: Error): void {
    for (const waiter of this.#queue.drain()) {
      if (waiter.onAbort !== undefined) {
        waiter.signal!.removeEventListener('abort', waiter.onAbort)
      }
      waiter.reject(error)
    }
  }

  #lend(
    pooled: PooledConnection<C>,
    startedAt: number,
    now: number,
    trackGc: boolean,
    site: AcquireSite | undefined,
  ): Lease<C> {
    const leaseId = ++this.#leaseCounter
    pooled.phase = ConnectionPhase.Leased
    pooled.leaseSeq++
    pooled.leaseId = leaseId
    pooled.leasedAt = now
    pooled.leakReported = false
    pooled.revokeReason = undefined
    pooled.acquireSite = site
    const lease = new Lease(this.#owner, pooled, leaseId)
    if (trackGc) {
      this.#nurseryLeases.push(lease)
      this.#nurseryConnections.push(pooled)
      // Bounded: a burst that never yields to the timer adopts as it goes.
      if (this.#nurseryLeases.length > GC_NURSERY_SIZE) {
        this.#adoptNursery()
      } else {
        this.#nurseryTimer ??= setTimeout(() => this.#adoptNursery(), GC_NURSERY_MILLIS).unref()
      }
    }
    this.#acquires++
    const waited = now - startedAt
    this.#waitTimes.record(waited)
    if (this.#events.listenerCount('acquire') > 0) {
      this.#emit('acquire', { leaseId, waitedMillis: waited })
    }
    return lease
  }

  #timeoutError(startedAt: number, holders: HolderInfo[]): PoolTimeoutError {
    const tarnPool = this.#tarn
    const used = tarnPool.numUsed()
    const creating = tarnPool.numPendingCreates()
    const recentFailure = this.#lastCreateError !== undefined && this.#lastCreateErrorAt >= startedAt
    let reason: PoolTimeoutReason = 'pool-full'
    if (recentFailure) {
      reason = 'server-refusing'
    } else if (used < this.config.max && creating > 0) {
      reason = 'create-slow'
    }
    const error = new PoolTimeoutError(this.name, {
      reason,
      waitedMillis: Math.round(performance.now() - startedAt),
      size: used + tarnPool.numFree(),
      used,
      idle: tarnPool.numFree(),
      pending: this.#queue.size,
      max: this.config.max,
      ...(recentFailure ? { lastCreateError: this.#lastCreateError } : {}),
      holders,
    })
    this.#timeouts++
    this.#emit('timeout', { error })
    return error
  }

  // ---------------------------------------------------------------- release

  /**
   * The release pipeline. The common case — nothing in flight, no
   * transaction, untouched session — is decided from state the protocol
   * already delivered and costs no round trip and no await.
   */
  #release(pooled: PooledConnection<C>, leaseId: number): Promise<void> {
    const now = performance.now()
    this.#endLease(pooled, leaseId, now)
    const connector = this.connector
    const connection = pooled.connection
    if (
      pooled.broken ||
      connector.isBusy(connection) ||
      connector.transactionState(connection) !== 'idle' ||
      this.#needsReset(connection) ||
      now >= pooled.retireAt
    ) {
      return this.#clean(pooled, leaseId, false)
    }
    this.#returnToIdle(pooled, now)
    return RESOLVED
  }

  #needsReset(connection: C): boolean {
    const policy = this.config.reset
    return policy === 'always' || (policy === 'auto' && this.connector.isSessionChanged(connection))
  }

  /** Makes a dirty connection clean, or closes it. Never rejects. */
  async #clean(pooled: PooledConnection<C>, leaseId: number, interruptFirst: boolean): Promise<void> {
    const connector = this.connector
    const connection = pooled.connection
    try {
      if (!pooled.broken && connector.isBusy(connection)) {
        if (interruptFirst) {
          await connector.interrupt(connection, 'query')
        }
        const settled = await settleWithin(connector.whenIdle(connection), SETTLE_TIMEOUT_MILLIS)
        if (!settled) {
          await connector.interrupt(connection, 'session')
          this.#destroyLeased(pooled, 'dirty')
          return
        }
      }
      if (pooled.broken) {
        this.#destroyLeased(pooled, 'broken')
        return
      }
      const state = connector.transactionState(connection)
      if (state !== 'idle') {
        await connector.rollback(connection)
        this.#rolledBack++
        this.#emit('rollback', { leaseId, state })
        if (connector.transactionState(connection) !== 'idle') {
          this.#destroyLeased(pooled, 'dirty')
          return
        }
      }
      if (this.#needsReset(connection)) {
        await connector.resetSession(connection)
        pooled.sessionGeneration++
        this.#reset++
        this.#emit('reset', { leaseId })
      }
      const now = performance.now()
      if (now >= pooled.retireAt) {
        this.#destroyLeased(pooled, 'retired')
        return
      }
      this.#returnToIdle(pooled, now)
    } catch (error) {
      this.#emit('error', { error: asError(error), context: `cleaning the connection of lease #${leaseId}` })
      this.#destroyLeased(pooled, 'dirty')
    }
  }

  #endLease(pooled: PooledConnection<C>, leaseId: number, now: number): void {
    pooled.phase = ConnectionPhase.Cleaning
    this.#untrack(pooled)
    const held = now - pooled.leasedAt
    this.#useTimes.record(held)
    if (this.#events.listenerCount('release') > 0) {
      this.#emit('release', { leaseId, heldMillis: held })
    }
  }

  #returnToIdle(pooled: PooledConnection<C>, now: number): void {
    pooled.acquireSite = undefined
    // Straight to the longest-waiting caller: no trip through the idle list.
    const waiter = this.#queue.shift()
    if (waiter !== undefined) {
      this.#serve(waiter, pooled)
      return
    }
    pooled.phase = ConnectionPhase.Idle
    pooled.idleSince = now
    this.#tarn.releaseResource(pooled)
    this.#notifyDrain()
  }

  #discard(pooled: PooledConnection<C>, leaseId: number, reason: Error | undefined): Promise<void> {
    this.#endLease(pooled, leaseId, performance.now())
    if (reason !== undefined) {
      this.#emit('error', { error: reason, context: `lease #${leaseId} discarded its connection` })
    }
    this.#destroyLeased(pooled, 'discarded')
    return RESOLVED
  }

  #destroyLeased(pooled: PooledConnection<C>, reason: DestroyReason): void {
    if (pooled.phase === ConnectionPhase.Closing) {
      return
    }
    pooled.phase = ConnectionPhase.Closing
    this.#untrack(pooled)
    this.#emit('destroy', { connectionId: pooled.id, reason })
    this.#tarn.destroyUsed(pooled)
    this.#notifyDrain()
    this.#grow()
  }

  // ------------------------------------------------------ abandoned leases

  #sweep(): void {
    const { leakDetectionMillis, maxLeaseMillis } = this.config
    const now = performance.now()
    for (const pooled of this.#tarn.usedResources()) {
      if (pooled.phase !== ConnectionPhase.Leased) {
        continue
      }
      const held = now - pooled.leasedAt
      if (leakDetectionMillis > 0 && !pooled.leakReported && held >= leakDetectionMillis) {
        pooled.leakReported = true
        this.#reportLeak(pooled, held)
      }
      if (maxLeaseMillis > 0 && held >= maxLeaseMillis) {
        void this.#revoke(pooled, 'max-lease')
      }
    }
  }

  #reportLeak(pooled: PooledConnection<C>, held: number): void {
    this.#leaks++
    const stack = pooled.acquireSite?.stack
    const acquiredAt = applicationFrame(stack)
    const payload = {
      leaseId: pooled.leaseId,
      heldMillis: Math.round(held),
      ...(acquiredAt ? { acquiredAt } : {}),
      ...(stack ? { stack } : {}),
    }
    if (this.#events.listenerCount('leak') > 0) {
      this.#emit('leak', payload)
    } else {
      // A leak nobody hears about is the one that takes production down.
      process.emitWarning(
        `pool "${this.name}": lease #${payload.leaseId} held for ${payload.heldMillis} ms (leakDetectionMillis ${this.config.leakDetectionMillis})` +
          (acquiredAt ? `, acquired at ${acquiredAt}` : ''),
        { code: 'KYSELY_POOLED_LEAK' },
      )
    }
  }

  /** Takes a lease back from its holder: later use throws `LeaseRevokedError`. */
  #revoke(pooled: PooledConnection<C>, reason: LeaseRevokeReason): Promise<void> {
    const leaseId = pooled.leaseId
    const now = performance.now()
    const held = now - pooled.leasedAt
    pooled.revokeReason = reason
    pooled.leaseSeq++
    this.#revoked++
    this.#endLease(pooled, leaseId, now)
    this.#emit('revoke', { leaseId, heldMillis: Math.round(held), reason })
    return this.#clean(pooled, leaseId, true)
  }

  /**
   * Registering every lease with the FinalizationRegistry costs about as
   * much as the rest of an acquire and release together, and almost every
   * lease is released within milliseconds. So leases wait in a nursery
   * (held strongly: none can be collected unseen) and only those still held
   * when the nursery is adopted, a few milliseconds later, are registered.
   */
  #adoptNursery(): void {
    if (this.#nurseryTimer !== undefined) {
      clearTimeout(this.#nurseryTimer)
      this.#nurseryTimer = undefined
    }
    const leases = this.#nurseryLeases
    const connections = this.#nurseryConnections
    this.#nurseryLeases = []
    this.#nurseryConnections = []
    for (let i = 0; i < leases.length; i++) {
      const lease = leases[i]!
      const pooled = connections[i]!
      if (lease.isHeld && !pooled.gcTracked) {
        pooled.gcTracked = true
        this.#gcReclaimer.register(lease, pooled, pooled)
      }
    }
  }

  #untrack(pooled: PooledConnection<C>): void {
    if (pooled.gcTracked) {
      pooled.gcTracked = false
      this.#gcReclaimer.unregister(pooled)
    }
  }

  #reclaim(pooled: PooledConnection<C>): void {
    pooled.gcTracked = false
    if (pooled.phase !== ConnectionPhase.Leased) {
      return
    }
    this.#reclaimed++
    pooled.revokeReason = 'max-lease'
    pooled.leaseSeq++
    const leaseId = pooled.leaseId
    pooled.phase = ConnectionPhase.Cleaning
    this.#useTimes.record(performance.now() - pooled.leasedAt)
    this.#emit('error', {
      error: new LeaseRevokedError(leaseId, 'max-lease'),
      context: `lease #${leaseId} was garbage-collected while held; its connection was closed`,
    })
    // Closing the connection makes the server roll back whatever was open.
    void this.connector
      .interrupt(pooled.connection, 'query')
      .finally(() => this.#destroyLeased(pooled, 'reclaimed'))
  }

  // ------------------------------------------------------------- lifecycle

  async #create(): Promise<PooledConnection<C>> {
    await this.#backoff.wait()
    if (this.#closing) {
      throw new PoolClosedError(this.name)
    }
    const startedAt = performance.now()
    let connection: C
    try {
      connection = await this.connector.connect({ timeoutMillis: this.config.createTimeoutMillis })
    } catch (error) {
      this.#onCreateFailed(asError(error))
      throw error
    }
    this.#backoff.succeeded()
    this.#lastCreateError = undefined
    const now = performance.now()
    const pooled = new PooledConnection(++this.#connectionCounter, connection, now, this.config.maxLifetimeMillis)
    try {
      this.connector.onBroken(connection, (error) => this.#onBroken(pooled, error))
    } catch (error) {
      // Without the watch the connection could die unseen: never lend it.
      await this.connector.close(connection)
      throw error
    }
    this.#created++
    this.#createTimes.record(now - startedAt)
    this.#emit('create', { connectionId: pooled.id, createMillis: now - startedAt })
    return pooled
  }

  #onCreateFailed(error: Error): void {
    this.#createErrors++
    this.#lastCreateError = error
    this.#lastCreateErrorAt = performance.now()
    if (this.connector.classifyConnectFailure(error) === 'fatal') {
      // Retrying cannot fix this: fail every waiter now, not at its timeout.
      const fatal = new PoolConnectError(this.name, this.connector.target, error)
      this.#backoff.failed()
      this.#failWaiters(fatal)
      this.#settleReady(fatal)
      this.#emit('error', { error: fatal, context: 'opening a connection' })
    } else {
      this.#backoff.failed()
    }
  }

  #onBroken(pooled: PooledConnection<C>, error: Error): void {
    if (pooled.broken || pooled.phase === ConnectionPhase.Closing) {
      return
    }
    pooled.broken = true
    if (pooled.phase === ConnectionPhase.Idle) {
      pooled.phase = ConnectionPhase.Closing
      if (this.#tarn.destroyIdle(pooled)) {
        this.#emit('destroy', { connectionId: pooled.id, reason: 'broken' })
        this.#grow()
      }
    }
    // A leased one is closed when it comes back.
    this.#emit('error', { error, context: `connection #${pooled.id} broke` })
  }

  async #close(pooled: PooledConnection<C>): Promise<void> {
    pooled.phase = ConnectionPhase.Closing
    this.#destroyed++
    await this.connector.close(pooled.connection)
  }

  /** Keeps `min` connections open (warm-up at start, replenishing after closes). */
  #ensureMin(): void {
    if (this.#closing || this.#tarn.isDestroyed) {
      return
    }
    const tarnPool = this.#tarn
    const missing =
      this.config.min - (tarnPool.numFree() + tarnPool.numUsed() + tarnPool.numPendingCreates())
    for (let i = 0; i < missing; i++) {
      // In parallel: warm-up time is one connect, not `min` of them.
      tarnPool.createOne().then(
        () => {
          this.#checkReady()
          this.#serveFromIdle()
        },
        (error: unknown) => {
          if (!this.#closing && this.connector.classifyConnectFailure(error) === 'transient') {
            // create() backs off before the next attempt.
            setImmediate(() => this.#ensureMin())
          }
        },
      )
    }
  }

  #checkReady(): void {
    if (!this.#readySettled && this.#tarn.numFree() + this.#tarn.numUsed() >= this.config.min) {
      this.#settleReady()
    }
  }

  #settleReady(error?: Error): void {
    if (this.#readySettled) {
      return
    }
    this.#readySettled = true
    if (error) {
      this.#readyReject(error)
    } else {
      this.#readyResolve()
    }
  }

  async #destroy(graceMillis: number): Promise<void> {
    this.#closing = true
    if (this.#sweeper) {
      clearInterval(this.#sweeper)
    }
    if (this.#nurseryTimer) {
      clearTimeout(this.#nurseryTimer)
      this.#nurseryTimer = undefined
    }
    this.#settleReady(new PoolClosedError(this.name))
    this.#failWaiters(new PoolClosedError(this.name))
    this.#backoff.cancel()

    if (this.#heldCount() > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMillis)
        this.#drainWaiter = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#drainWaiter = undefined
    }

    await Promise.all(
      this.#tarn
        .usedResources()
        .filter((pooled) => pooled.phase === ConnectionPhase.Leased)
        .map((pooled) => this.#revoke(pooled, 'pool-destroyed')),
    )
    // Cleanups of leases released just before (or during) the grace period.
    await this.#waitForCleanups()
    await this.#tarn.destroy()
  }

  #heldCount(): number {
    return this.#tarn.numUsed()
  }

  #notifyDrain(): void {
    if (this.#drainWaiter !== undefined && this.#heldCount() === 0) {
      this.#drainWaiter()
    }
  }

  async #waitForCleanups(): Promise<void> {
    const deadline = performance.now() + SETTLE_TIMEOUT_MILLIS * 2
    while (this.#heldCount() > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    // Anything still out is stuck: close it rather than hang the shutdown.
    for (const pooled of this.#tarn.usedResources()) {
      this.#destroyLeased(pooled, 'pool-destroyed')
    }
  }

  // ------------------------------------------------------------- helpers

  #transactionStateOf(pooled: PooledConnection<C>): TransactionState {
    try {
      return this.connector.transactionState(pooled.connection)
    } catch {
      return 'unknown'
    }
  }

  #emit<E extends PoolEventName>(event: E, payload: PoolEvents[E]): void {
    if (this.#events.listenerCount(event) === 0) {
      return
    }
    try {
      this.#events.emit(event, payload)
    } catch (error) {
      // A throwing listener must not break the pool's bookkeeping.
      if (event !== 'error') {
        this.#emit('error', { error: asError(error), context: `a '${event}' listener threw` })
      }
    }
  }
}

/** Creates a pool: `createPool(postgresConnector(url), { max: 10 })`. */
export function createPool<C>(connector: Connector<C>, options?: PoolOptions): Pool<C> {
  return new Pool(connector, options)
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason
  return reason instanceof Error ? reason : new DOMException('The operation was aborted.', 'AbortError')
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

/** True when `promise` fulfils within `millis`; false when it rejects or takes longer. */
async function settleWithin(promise: Promise<void>, millis: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), millis)
  })
  try {
    return await Promise.race([promise.then(() => true as const, () => false as const), timedOut])
  } finally {
    clearTimeout(timer)
  }
}
