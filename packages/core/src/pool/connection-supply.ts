import type { Connector } from '../connector/connector.js'
import { PoolClosedError } from '../errors/pool-closed-error.js'
import { PoolConnectError } from '../errors/pool-connect-error.js'
import { CreateBackoff } from './create-backoff.js'
import { refusedBeforeFirstConnection } from './never-connected.js'
import { asError, type PoolEventBus } from './pool-event-bus.js'
import { PoolEntry } from './pool-entry.js'
import type { PoolMetrics } from './pool-metrics.js'
import type { PoolConfig } from './pool-options.js'
import { settleBefore } from './settle-before.js'
import { ConnectionStore } from './connection-store.js'

export interface SupplyHandlers<C> {
  /** The pool's one shutdown flag. */
  closing(): boolean
  /** Callers waiting for a connection. */
  waiting(): number
  /** A new connection (still `Opening`) is ready: the lifecycle admits it, or evicts it if it broke meanwhile. */
  opened(entry: PoolEntry<C>): void
  /** Idle connections past `idleTimeoutMillis` (above `min`) are due to be closed. */
  reap(): void
  /** A connection reported a break. */
  broke(entry: PoolEntry<C>, error: Error): void
  /** Opening failed in a way retrying cannot fix (or a never-healthy pool was refused): true when a waiting caller got the error. */
  refused(error: PoolConnectError): boolean
}

/**
 * Connection supply: opens connections (with backoff between failures, the
 * `onConnect` hook, the break watch), keeps `min` open, grows for queued
 * callers up to `max`, runs the idle reaper, and says when the pool is
 * ready. Every attempt is bounded by what it awaits (the backoff, the
 * connector's own connect timeout, `onConnect` raced against
 * `createTimeoutMillis`): nothing is added on top of a user's duration.
 */
export class ConnectionSupply<C> {
  /** Every connection of the pool, filed by state. */
  readonly store = new ConnectionStore<C>()
  readonly #connector: Connector<C>
  readonly #config: PoolConfig<C>
  readonly #metrics: PoolMetrics
  readonly #events: PoolEventBus
  readonly #handlers: SupplyHandlers<C>
  readonly #backoff = new CreateBackoff()
  readonly #ready: Promise<void>
  #settleReady: (error?: Error) => void = () => {}
  /** Someone awaits `ready()`: a rejection of it reaches a caller. */
  #readyAwaited = false
  #readySettled = false
  #everConnected = false
  /** Attempts in flight, up to their admission: shutdown waits for them. */
  readonly #attempts = new Set<Promise<void>>()
  #reaper: ReturnType<typeof setInterval> | undefined
  /** Retries scheduled after failed attempts; cleared by `stop()` so nothing outlives `destroy()`. */
  readonly #retries = new Set<ReturnType<typeof setImmediate>>()
  #connectionCounter = 0
  lastCreateError: Error | undefined
  lastCreateErrorAt = 0

  constructor(
    connector: Connector<C>,
    config: PoolConfig<C>,
    metrics: PoolMetrics,
    events: PoolEventBus,
    handlers: SupplyHandlers<C>,
  ) {
    this.#connector = connector
    this.#config = config
    this.#metrics = metrics
    this.#events = events
    this.#handlers = handlers
    let resolveReady: () => void = () => {}
    let rejectReady: (error: Error) => void = () => {}
    this.#ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve
      rejectReady = reject
    })
    // Nobody may ever call ready(); its rejection must not crash the process.
    this.#ready.catch(() => {})
    this.#settleReady = (error) => {
      if (!this.#readySettled) {
        this.#readySettled = true
        if (error) {
          rejectReady(error)
        } else {
          resolveReady()
        }
      }
    }
    if (config.min === 0) {
      this.#settleReady()
    } else {
      this.ensureMin()
    }
  }

  /** Resolves once `min` connections are open; rejects with `PoolConnectError` if the server refuses us for good. */
  ready(): Promise<void> {
    this.#readyAwaited = true
    return this.#ready
  }

  /** Opens connections for queued callers, up to `max`. */
  grow(): void {
    if (this.#handlers.closing()) {
      return
    }
    const store = this.store
    const wanted = Math.min(this.#config.max - store.total, this.#handlers.waiting() - store.openingCount)
    for (let i = 0; i < wanted; i++) {
      this.#attempt(false)
    }
  }

  /** Keeps `min` connections open (warm-up at start, replenishing after closes), opened in parallel. */
  ensureMin(): void {
    if (this.#handlers.closing()) {
      return
    }
    const missing = this.#config.min - this.store.total
    for (let i = 0; i < missing; i++) {
      this.#attempt(true)
    }
  }

  /** No more connections: backoff sleeps end, the reaper stops, `ready()` rejects if it has not settled. */
  stop(): void {
    this.#backoff.cancel()
    clearInterval(this.#reaper)
    this.#reaper = undefined
    for (const retry of this.#retries) clearImmediate(retry)
    this.#retries.clear()
    this.#settleReady(new PoolClosedError(this.#config.name))
  }

  /** Resolves once every attempt in flight has ended (and its connection was admitted or evicted). */
  async settled(): Promise<void> {
    while (this.#attempts.size > 0) {
      await Promise.all(this.#attempts)
    }
  }

  /** One attempt; the store counts it as opening until it ends. */
  #attempt(forMin: boolean): void {
    const store = this.store
    store.beginOpening()
    const attempt = this.#open().then(
      (entry) => {
        if (entry.isBroken) {
          // Broken before it was ever lent (the server ended the session during
          // onConnect, say): a failed attempt, so the next one waits out the backoff.
          this.#metrics.createErrors++
          this.#backoff.failed()
        }
        // The lifecycle ends the opening: the entry's first move, and the count, in one step.
        this.#handlers.opened(entry)
        if (store.idleCount + store.takenCount >= this.#config.min) {
          this.#settleReady()
        }
        this.#startReaper()
      },
      (error: unknown) => {
        store.endOpening()
        if (this.#handlers.closing()) {
          return
        }
        // Transient failures retry (#open waits out the backoff first); waiters retry whatever the kind.
        if (forMin ? this.#connector.classifyConnectFailure(error) === 'transient' : this.#handlers.waiting() > 0) {
          const retry = setImmediate(() => {
            this.#retries.delete(retry)
            if (forMin) this.ensureMin()
            else this.grow()
          })
          this.#retries.add(retry)
        }
      },
    )
    this.#attempts.add(attempt)
    void attempt.finally(() => this.#attempts.delete(attempt))
  }

  #startReaper(): void {
    const idleMillis = this.#config.idleTimeoutMillis
    if (this.#reaper !== undefined || idleMillis === 0 || this.#handlers.closing()) {
      return
    }
    // The reaper must not keep the process alive: open sockets decide that.
    this.#reaper = setInterval(() => this.#handlers.reap(), Math.min(1_000, Math.max(10, Math.floor(idleMillis / 2))))
    this.#reaper.unref()
  }

  async #open(): Promise<PoolEntry<C>> {
    await this.#backoff.wait()
    if (this.#handlers.closing()) {
      throw new PoolClosedError(this.#config.name)
    }
    const startedAt = performance.now()
    const handle = await this.#connector
      .connect({ timeoutMillis: this.#config.createTimeoutMillis })
      .catch((error: unknown) => this.#failed(asError(error)))
    const onConnect = this.#config.onConnect
    if (onConnect !== undefined) {
      // The setup hook's session is the baseline; it gets the connect timeout.
      let failure: unknown
      const outcome = await settleBefore(
        Promise.resolve()
          .then(() => onConnect(handle.client))
          .catch((error: unknown) => {
            failure = error
            throw error
          }),
        performance.now() + this.#config.createTimeoutMillis,
      )
      if (outcome !== 'done') {
        await handle.close()
        this.#failed(
          outcome === 'late' ? new Error(`onConnect did not finish within createTimeoutMillis`) : asError(failure),
        )
      }
      handle.acceptSession()
    }
    this.#backoff.succeeded()
    this.#everConnected = true
    this.lastCreateError = undefined
    const now = performance.now()
    // Opening until admitted: a break reported now (the session ended during
    // onConnect, say) is remembered, and admission evicts instead of lending.
    const entry = new PoolEntry(++this.#connectionCounter, handle, now, this.#config.maxLifetimeMillis)
    handle.onBroken((error) => this.#handlers.broke(entry, error))
    if (this.#config.allowExitOnIdle) {
      handle.setKeepsProcessAlive?.(false)
    }
    this.#metrics.created++
    this.#metrics.createTimes.record(now - startedAt)
    this.#events.emit('create', { connectionId: entry.id, createMillis: now - startedAt })
    return entry
  }

  #failed(error: Error): never {
    this.#metrics.createErrors++
    this.lastCreateError = error
    this.lastCreateErrorAt = performance.now()
    this.#backoff.failed()
    const fatal = this.#connector.classifyConnectFailure(error) === 'fatal'
    if (fatal || refusedBeforeFirstConnection(error, this.#everConnected)) {
      const refused = new PoolConnectError(this.#config.name, this.#connector.target, error)
      // One report per failure: what a caller (or a `ready()` awaiter) got is not logged as well.
      const readyHeard = this.#readyAwaited && !this.#readySettled
      this.#settleReady(refused)
      const waitersHeard = this.#handlers.refused(refused)
      // A refusal nobody heard is retried in the background (the warm-up), unreported as before.
      if (fatal && !readyHeard && !waitersHeard) {
        this.#events.error(refused, 'opening a connection')
      }
    }
    throw error
  }
}
