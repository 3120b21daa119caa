import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import type pg from 'pg'
import type { ConnectionHandle, InterruptScope, TransactionState } from './connector.js'
import type { ResolvedConnectorOptions } from './connector-options.js'
import { askSafely } from './ask-safely.js'
import { BrokenWatch } from './broken-watch.js'
import { IdleWaiters } from './idle-waiters.js'
import { closeWithin } from './close-within.js'
import { sendCancelRequest } from './postgres-cancel-request.js'
import { postgresSessionChange } from './session-change-detector.js'
import { settleWithin } from './settle-within.js'
import { StallGuard } from './stall-guard.js'
import { StalledStatementError } from './stalled-statement-error.js'
import { watchSocket } from './watch-socket.js'
import type { PoolerMode } from '../pooler/pooler-option.js'
import { refuseQuery, type TransactionPoolerGuard } from '../pooler/transaction-pooler-guard.js'

/**
 * The parts of a pg 8.x `Client` the handle reads that its typings do not
 * declare. Each is set by pg itself from protocol messages (see
 * pg/lib/client.js); reading them costs nothing.
 */
interface PgClientInternals {
  /** True between ReadyForQuery and the next submitted query. `undefined` before connect. */
  readyForQuery?: boolean
  _activeQuery: unknown
  _queryQueue: unknown[]
  /** Pipeline mode only. */
  _sentQueryQueue?: unknown[]
  _queryable: boolean
  _ending: boolean
  processID: number | null
  secretKey: number | Uint8Array | null
  host: string
  port: number
  connection: {
    /** Replaced by a TLS socket when the connection upgrades. */
    stream: Duplex
    /** pg's cache of named statements it has parsed on this session: DISCARD ALL drops them server-side. */
    parsedStatements: Record<string, string>
    /** Every protocol message the client writes goes through here. */
    _send(buffer: Buffer): boolean
    on(event: 'parameterStatus', listener: () => void): unknown
  }
}

type QueryFunction = (this: pg.Client, config: unknown, values: unknown, callback: unknown) => unknown

export interface PostgresHandleSettings {
  /** Password-free, for messages. */
  readonly target: string
  /** Scrubbed from every error the handle reports. */
  readonly password: string | undefined
  readonly options: ResolvedConnectorOptions
  /**
   * What `resetSession` sends; `undefined` sends nothing (a transaction
   * pooler's shared server connection must not be reset by a client).
   */
  readonly resetStatement: string | undefined
  /** Behind a pooler the backend key is the pooler's own, not a server process. */
  readonly pooler: PoolerMode
  /** Under `pooler: 'transaction'`: refuses session state before it is sent. */
  readonly guard: TransactionPoolerGuard | undefined
  /** Opens a short-lived connection outside any pool, for `pg_terminate_backend`. */
  /** A side connection for interrupts; aborting destroys it half-open. */
  readonly openControl: (signal?: AbortSignal) => Promise<ConnectionHandle<pg.Client>>
}

/**
 * One node-postgres `Client` and everything the pool asks about it.
 *
 * The state reads come from what pg already parsed: the transaction status of
 * the last ReadyForQuery, its query queue, and two flags of this handle —
 * `changed` (set by a sniff of each statement's text, `postgresSessionChange`,
 * and by any ParameterStatus after connect) and the broken watch, fed by the
 * client's 'error'/'end' and by the socket's own 'error'/'end'/'close'.
 */
export class PostgresConnectionHandle implements ConnectionHandle<pg.Client> {
  readonly client: pg.Client
  readonly #internals: PgClientInternals
  readonly #settings: PostgresHandleSettings
  readonly #broken = new BrokenWatch()
  readonly #guard: StallGuard | undefined
  /** The session may differ from its baseline. */
  #changed = false
  /** Connected: ParameterStatus messages from now on mean a setting changed. */
  #ready = false
  #closing: Promise<void> | undefined = undefined
  readonly #idleWaiters = new IdleWaiters()
  /** Interrupts in flight on side connections: closing this connection ends them. */
  readonly #interrupts = new Set<AbortController>()
  /** pg emits 'drain' after every statement: listened to only while someone waits for idle. */
  readonly #onDrain = (): void => {
    if (!this.isBusy()) this.#wakeIdleWaiters()
  }

  constructor(client: pg.Client, settings: PostgresHandleSettings) {
    this.client = client
    this.#settings = settings
    const internals = (this.#internals = client as unknown as PgClientInternals)
    // Before connect: an 'error' emitted while idle (or mid-connect) must
    // never be unhandled, and marks the connection broken.
    client.on('error', (error: Error) => this.#markBroken(error))
    client.on('end', () => this.#markBroken(new Error(`connection to ${settings.target} ended`)))
    internals.connection.on('parameterStatus', () => {
      // Behind a transaction pooler a ParameterStatus comes from SET LOCAL (the guard refuses the rest).
      if (this.#ready && settings.guard === undefined) this.#changed = true
    })
    watchSocket(internals.connection.stream, settings.target, (error) => this.#markBroken(error))
    const stallMillis = settings.options.stallMillis
    this.#guard = stallMillis === undefined ? undefined : new StallGuard(stallMillis, () => this.#stalled(stallMillis))
    this.#wrapQuery()
  }

  /** Connects the client; the connector bounds it and abandons the socket on failure. */
  async open(): Promise<void> {
    await this.client.connect()
    const stream = this.#internals.connection.stream
    watchSocket(stream, this.#settings.target, (error) => this.#markBroken(error)) // a TLS upgrade replaced it
    if (this.#guard !== undefined) this.#watchRequests(this.#guard, stream)
    this.#ready = true
  }

  transactionState(): TransactionState {
    switch (this.client.getTransactionStatus()) {
      case 'I':
        return 'idle'
      case 'T':
        return 'in-transaction'
      case 'E':
        return 'failed'
      default:
        return 'unknown'
    }
  }

  isBusy(): boolean {
    const internals = this.#internals
    // After an ErrorResponse pg rejects the query at once but ReadyForQuery
    // (and with it the transaction status) arrives later: until then
    // readyForQuery is false although no query is active.
    return (
      internals.readyForQuery !== true ||
      internals._activeQuery != null ||
      internals._queryQueue.length > 0 ||
      (internals._sentQueryQueue !== undefined && internals._sentQueryQueue.length > 0)
    )
  }

  /** Busy only because the ReadyForQuery that trails a failed statement has not arrived yet. */
  isSettling(): boolean {
    return this.#internals.readyForQuery !== true && !this.#statementInFlight()
  }

  /** A statement is running or queued: busy, but not merely awaiting the ReadyForQuery that trails an error. */
  #statementInFlight(): boolean {
    const internals = this.#internals
    return (
      internals._activeQuery != null ||
      internals._queryQueue.length > 0 ||
      (internals._sentQueryQueue !== undefined && internals._sentQueryQueue.length > 0)
    )
  }

  whenIdle(): Promise<void> {
    if (!this.isBusy() || this.isBroken()) return Promise.resolve()
    if (this.#idleWaiters.size === 0) this.client.on('drain', this.#onDrain)
    return this.#idleWaiters.wait()
  }

  isSessionChanged(): boolean {
    return this.#changed
  }

  acceptSession(): void {
    this.#changed = false
  }

  isBroken(): boolean {
    const internals = this.#internals
    return this.#broken.error !== undefined || !internals._queryable || internals._ending
  }

  onBroken(listener: (error: Error) => void): void {
    this.#broken.onBroken(listener)
  }

  async rollback(): Promise<void> {
    await this.client.query('ROLLBACK')
  }

  async resetSession(): Promise<void> {
    if (this.#settings.guard !== undefined && this.#changed) {
      // DISCARD ALL through a transaction pooler would hit whichever server
      // connection it picks: rejecting makes the pool close this one instead.
      throw new Error(
        `pooler 'transaction': the session may carry state the guard could not read; closing the connection instead of sending DISCARD ALL`,
      )
    }
    const statement = this.#settings.resetStatement
    if (statement !== undefined) {
      // DISCARD ALL restores every setting to its session default, which
      // includes the startup packet's: statement_timeout survives it.
      await this.client.query(statement)
      // It also deallocated every prepared statement, including the ones pg
      // parsed for `{ name }` queries; without this the next named query
      // would skip its Parse and fail with "prepared statement does not exist".
      this.#internals.connection.parsedStatements = {}
    }
    this.#changed = false
  }

  async ping(): Promise<void> {
    await this.client.query('SELECT 1')
  }

  async interrupt(scope: InterruptScope, isCurrent: () => boolean): Promise<void> {
    const { processID, secretKey, host, port } = this.#internals
    const timeoutMillis = this.#settings.options.interruptTimeoutMillis
    const deadline = performance.now() + timeoutMillis
    // Nothing running: a cancel request could hit the next statement. A
    // failed statement waiting only for its ReadyForQuery is over too.
    const mayStillSend = (): boolean =>
      performance.now() < deadline &&
      askSafely(isCurrent) &&
      !this.isBroken() &&
      (scope === 'session' || this.#statementInFlight())
    if (processID == null || !mayStillSend()) return
    // Closing this connection ends its interrupts: their side sockets never outlive it.
    const abort = new AbortController()
    this.#interrupts.add(abort)
    const { signal } = abort
    try {
      if (scope === 'query') {
        if (secretKey != null)
          await sendCancelRequest({ host, port, processID, secretKey }, mayStillSend, timeoutMillis, signal)
      } else if (this.#settings.pooler !== 'none') {
        // Behind a pooler the backend key is the pooler's own: pg_terminate_backend
        // would hit a stranger's backend. Cancel, then drop our client connection.
        if (secretKey != null && this.isBusy())
          await sendCancelRequest({ host, port, processID, secretKey }, mayStillSend, timeoutMillis, signal)
        if (isCurrent()) {
          this.#markBroken(new Error('session ended by an interrupt (behind a pooler)'))
          this.#internals.connection.stream.destroy()
        }
      } else {
        await settleWithin(this.#terminateBackend(processID, mayStillSend, signal), timeoutMillis)
      }
    } catch {
      // Best effort by contract: the caller is already giving up on the work.
    } finally {
      this.#interrupts.delete(abort)
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  setKeepsProcessAlive(keep: boolean): void {
    const stream = this.#internals.connection.stream as Duplex & { ref?(): void; unref?(): void }
    if (keep) stream.ref?.()
    else stream.unref?.()
  }

  async #close(): Promise<void> {
    const healthy = !this.isBroken() && !this.isBusy()
    this.#broken.closed(new Error(`connection to ${this.#settings.target} was closed`))
    this.#guard?.stop()
    this.#wakeIdleWaiters()
    for (const interrupt of this.#interrupts) interrupt.abort()
    const destroy = (): void => {
      this.#internals.connection.stream.destroy()
    }
    if (!healthy) {
      destroy()
      return
    }
    // Terminate, then wait for the server to close its end; the socket is
    // destroyed whatever happened, so nothing is ever left half-closed.
    await closeWithin(() => this.client.end(), destroy, this.#settings.options.closeTimeoutMillis)
  }

  /** `pg_terminate_backend` from a short-lived control connection outside the pool. */
  async #terminateBackend(processID: number, mayStillSend: () => boolean, signal: AbortSignal): Promise<void> {
    const control = await this.#settings.openControl(signal)
    try {
      if (mayStillSend()) await control.client.query('SELECT pg_terminate_backend($1)', [processID])
    } finally {
      await control.close()
    }
  }

  #markBroken(error: Error): void {
    this.#broken.record(error, this.#settings.password)
    this.#guard?.stop()
    // A broken connection never becomes idle: whoever waits for that is told now.
    this.#wakeIdleWaiters()
  }

  #wakeIdleWaiters(): void {
    if (this.#idleWaiters.size === 0) return
    this.client.off('drain', this.#onDrain)
    this.#idleWaiters.wakeAll()
  }

  /** The guard saw a request go unanswered too long: the path is dead, so is the connection. */
  #stalled(stallMillis: number): void {
    const error = new StalledStatementError(this.#settings.target, stallMillis)
    this.#markBroken(error)
    // The statement waiting for the answer fails with this error.
    this.#internals.connection.stream.destroy(error)
  }

  /** Each message written arms the guard; each chunk read disarms it. */
  #watchRequests(guard: StallGuard, stream: Duplex): void {
    const connection = this.#internals.connection
    const send = connection._send
    connection._send = function (this: unknown, buffer: Buffer): boolean {
      guard.request()
      return send.call(this, buffer)
    }
    stream.on('data', () => guard.answered())
  }

  /**
   * Wraps this client's `query` once. Every statement passes
   * `#beforeStatement`: the one place that looks at statements on their way
   * out. No allocation per query.
   */
  #wrapQuery(): void {
    const query = this.client.query as unknown as QueryFunction
    const handle = this
    // Fixed arity (pg never looks at arguments.length): no rest array per query.
    const guard = this.#settings.guard
    const wrapped = function (this: pg.Client, config: unknown, values: unknown, callback: unknown): unknown {
      if (guard !== undefined) {
        const status = this.getTransactionStatus()
        const refusal = guard.check(config, status === 'T' || status === 'E')
        if (refusal !== undefined) return refuseQuery(refusal, config, values, callback, handle.#internals.connection)
      }
      handle.#beforeStatement(config)
      return query.call(this, config, values, callback)
    }
    ;(this.client as unknown as { query: QueryFunction }).query = wrapped
  }

  /**
   * Sniffs the statement's text (`postgresSessionChange`) until the
   * session is flagged changed; a Submittable (pg-cursor) exposes `.text`,
   * anything else we cannot read is assumed to change the session.
   */
  #beforeStatement(config: unknown): void {
    if (this.#changed) return
    // Under the guard, only what it could not read can change the session.
    const sniff = this.#settings.guard === undefined
    const text =
      typeof config === 'string'
        ? config
        : typeof config === 'object' && config !== null
          ? ((config as { text?: unknown }).text ?? (config as { cursor?: { text?: unknown } }).cursor?.text)
          : undefined
    if (typeof text !== 'string' || (sniff && postgresSessionChange(text))) this.#changed = true
  }
}
