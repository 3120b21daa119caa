import type { Connector } from '../connector/connector.js'
import { PoolClosedError } from '../errors/pool-closed-error.js'
import { PoolConnectError } from '../errors/pool-connect-error.js'
import { ConnectionState } from './connection-state.js'
import { CreateBackoff } from './create-backoff.js'
import { refusedBeforeFirstConnection } from './never-connected.js'
import { asError, type PoolEventBus } from './pool-event-bus.js'
import { PoolEntry } from './pool-entry.js'
import type { PoolMetrics } from './pool-metrics.js'
import type { PoolConfig } from './pool-options.js'
import { settleBefore } from './settle-before.js'
import { TarnPool } from './tarn-pool.js'

export interface SupplyHandlers<C> {
  /** Callers waiting for a connection. */
  waiting(): number
  /** A new connection landed in the idle set. */
  opened(): void
  /** A connection reported a break. */
  broke(entry: PoolEntry<C>, error: Error): void
  /** Opening failed in a way retrying cannot fix (or a never-healthy pool was refused): true when a waiting caller got the error. */
  refused(error: PoolConnectError): boolean
}

// tarn's own create timeout must never fire before ours (connect timeout
// plus the longest backoff): it only guards against a connector bug.
const TARN_CREATE_SLACK_MILLIS = 10_000
// Connectors bound a close by their own closeTimeoutMillis (5 s by default);
// tarn's destroy timeout only guards against a connector that does not.
const TARN_DESTROY_TIMEOUT_MILLIS = 30_000

/**
 * Connection supply: opens connections (with backoff between failures, the
 * `onConnect` hook, the break watch), keeps `min` open, grows for queued
 * callers up to `max`, closes what tarn reaps or the pool evicts, and says
 * when the pool is ready.
 */
export class ConnectionSupply<C> {
  /** Every connection of the pool: tarn's idle (`free`) and taken (`used`) lists. */
  readonly store: TarnPool<PoolEntry<C>>
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
  #stopped = false
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
    this.store = new TarnPool<PoolEntry<C>>({
      create: () => this.#open(),
      destroy: (entry) => this.#close(entry),
      // tarn's reaper keeps `min` open; tarn never opens any by itself.
      min: config.min,
      max: config.max,
      createTimeoutMillis: config.createTimeoutMillis + CreateBackoff.MAX_DELAY_MILLIS + TARN_CREATE_SLACK_MILLIS,
      destroyTimeoutMillis: TARN_DESTROY_TIMEOUT_MILLIS,
      // 0 = keep idle connections: tarn needs a number, so "never" is its max.
      idleTimeoutMillis: config.idleTimeoutMillis > 0 ? config.idleTimeoutMillis : 2 ** 31 - 1,
      reapIntervalMillis: Math.min(1_000, Math.max(10, Math.floor((config.idleTimeoutMillis || 1_000) / 2))),
    })
    this.store.on('destroySuccess', () => this.ensureMin())

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
    if (this.#stopped) {
      return
    }
    const store = this.store
    const creating = store.numPendingCreates()
    const room = this.#config.max - store.numUsed() - store.numFree() - creating
    const wanted = Math.min(room, this.#handlers.waiting() - creating)
    for (let i = 0; i < wanted; i++) {
      store.createOne().then(
        () => this.#handlers.opened(),
        () => {
          // Transient failures retry (#open waits out the backoff first).
          if (this.#handlers.waiting() > 0) {
            setImmediate(() => this.grow())
          }
        },
      )
    }
  }

  /** Keeps `min` connections open (warm-up at start, replenishing after closes), opened in parallel. */
  ensureMin(): void {
    if (this.#stopped || this.store.isDestroyed) {
      return
    }
    const store = this.store
    const missing = this.#config.min - (store.numFree() + store.numUsed() + store.numPendingCreates())
    for (let i = 0; i < missing; i++) {
      store.createOne().then(
        () => {
          if (store.numFree() + store.numUsed() >= this.#config.min) {
            this.#settleReady()
          }
          this.#handlers.opened()
        },
        (error: unknown) => {
          if (!this.#stopped && this.#connector.classifyConnectFailure(error) === 'transient') {
            setImmediate(() => this.ensureMin())
          }
        },
      )
    }
  }

  /** No more connections: backoff sleeps end, `ready()` rejects if it has not settled. */
  stop(): void {
    this.#stopped = true
    this.#backoff.cancel()
    this.#settleReady(new PoolClosedError(this.#config.name))
  }

  /** Closes an evicted connection tarn no longer holds (e.g. one opened after tarn gave up on it). */
  closeStray(entry: PoolEntry<C>): void {
    void this.#close(entry)
  }

  async #open(): Promise<PoolEntry<C>> {
    await this.#backoff.wait()
    if (this.#stopped) {
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

  /** tarn's destroyer: for connections the pool evicted, and idle ones tarn reaped. */
  async #close(entry: PoolEntry<C>): Promise<void> {
    if (entry.state !== ConnectionState.Evicted) {
      entry.moveTo(ConnectionState.Evicted)
      this.#metrics.destroyed++
      this.#events.emit('destroy', { connectionId: entry.id, reason: this.#stopped ? 'pool-destroyed' : 'idle' })
    }
    await entry.handle.close()
  }
}
