import { connect as connectSocket, type Socket } from 'node:net'
import type pg from 'pg'
import type {
  ConnectFailureKind,
  ConnectOptions,
  Connector,
  InterruptScope,
  TransactionState,
} from './connector.js'
import { BrokenWatch } from './broken-watch.js'
import { closeWithin } from './close-within.js'
import { classifySystemConnectFailure } from './connect-failure-codes.js'
import { connectWithin } from './connect-within.js'
import { resolveConnectorTimeouts, type ConnectorTimeouts } from './connector-timeouts.js'
import { formatTarget, passwordInUrl } from './connection-url.js'
import { loadDriver } from './load-driver.js'
import { redactUrl } from './redact-url.js'
import { scrubError } from './scrub-error.js'
import { POSTGRES_SESSION_CHANGE } from './session-change-detector.js'
import { settleWithin } from './settle-within.js'
import { resolvePooler, type PoolerOption, type PoolerSettings } from '../pooler/pooler-option.js'
import { refuseQuery, TransactionPoolerGuard } from '../pooler/transaction-pooler-guard.js'

export interface PostgresConnectorOptions {
  /** Longest wait for a graceful `client.end()` before the socket is destroyed. Default 5 000 ms. */
  readonly closeTimeoutMillis?: number
  /**
   * Longest time an interrupt's side channel (cancel request socket, or the
   * control connection running `pg_terminate_backend`) may take. Default 5 000 ms.
   */
  readonly interruptTimeoutMillis?: number
  /**
   * What sits between us and the server (see `PoolerMode`). Under
   * `'transaction'` session state is refused before it is sent
   * (`SessionStateError`) and the session is never reset with `DISCARD ALL`.
   * Default `'none'`.
   */
  readonly pooler?: PoolerOption
}

/**
 * The parts of a pg 8.x `Client` the connector reads that its typings do not
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
  /** An int32 in pg 8.x (protocol 3.0); a Buffer if a later pg speaks protocol 3.2's longer keys. */
  secretKey: number | Uint8Array | null
  host: string
  port: number
  connection: {
    stream: Socket
    /** pg's cache of named statements it has parsed on this session: DISCARD ALL drops them server-side. */
    parsedStatements: Record<string, string>
    on(event: 'parameterStatus', listener: () => void): unknown
  }
}

type QueryFunction = (this: pg.Client, config: unknown, values: unknown, callback: unknown) => unknown

/** Per-connection flags, kept beside the client so the hot queries read one object. */
class PostgresSession {
  /** The session may differ from a fresh one (see `POSTGRES_SESSION_CHANGE`). */
  changed = false
  /** The first error or end seen; the connection is never reused after it. */
  readonly broken = new BrokenWatch()
  /** Connected: ParameterStatus messages from now on mean a setting changed. */
  ready = false
}

const PROTOCOL_CANCEL_REQUEST_CODE = 80877102

/**
 * SQLSTATEs for which a retry can succeed: the server is there but not
 * accepting this connection now.
 */
const TRANSIENT_SQLSTATES = new Set([
  '53300', // too_many_connections (also a role's CONNECTION LIMIT)
  '53000', // insufficient_resources
  '53100', // disk_full
  '53200', // out_of_memory
  '57P01', // admin_shutdown (a restart)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovery)
  '08000', '08001', '08003', '08004', '08006', // connection_exception class
])

/**
 * A `Connector` for node-postgres (`pg` >= 8.21): one `pg.Client` per
 * connection. See `Connector` for the contract; the notes here are about how
 * pg tells us each thing.
 *
 * Session changes are detected by a sniff of each statement's text (one
 * regex, `POSTGRES_SESSION_CHANGE`) plus ParameterStatus messages after
 * connect (the server reports changes of `application_name`, `TimeZone`,
 * `is_superuser`, `session_authorization`, `DateStyle`…, whatever issued
 * them). A function that changes settings or creates temp tables where the
 * SQL text does not show it (e.g. a procedure doing `set_config`) can escape
 * the sniff; use `reset: 'always'` if your code does that.
 *
 * Connect failures: `transient` for SQLSTATE 53xxx (too many connections,
 * incl. a role's CONNECTION LIMIT), 57P01-03 (shutting down/starting up), class
 * 08, refused/reset/timed-out sockets, unreachable networks, a connection the
 * server closed during startup, and the connect timeout; `fatal` for
 * everything else — authentication (28P01, 28000), unknown database (3D000),
 * unknown host (ENOTFOUND, EAI_*), TLS and configuration errors — because the
 * server answered deliberately and a retry storm would only hide it.
 */
export function postgresConnector(
  urlOrConfig: string | pg.ClientConfig,
  options: PostgresConnectorOptions = {},
): Connector<pg.Client> {
  return new PostgresConnector(urlOrConfig, options)
}

class PostgresConnector implements Connector<pg.Client> {
  readonly dialect = 'postgres'
  readonly target: string

  readonly #config: Readonly<pg.ClientConfig>
  readonly #password: string | undefined
  readonly #timeouts: ConnectorTimeouts
  readonly #sessions = new WeakMap<pg.Client, PostgresSession>()
  readonly #pooler: PoolerSettings
  /** Set under `pooler: 'transaction'` only. */
  readonly #guard: TransactionPoolerGuard | undefined
  #driver: typeof pg | undefined

  constructor(urlOrConfig: string | pg.ClientConfig, options: PostgresConnectorOptions) {
    const config: pg.ClientConfig = typeof urlOrConfig === 'string' ? { connectionString: urlOrConfig } : { ...urlOrConfig }
    this.#config = Object.freeze(config)
    this.#password = passwordOf(config)
    this.target = describeTarget(config)
    this.#timeouts = resolveConnectorTimeouts(options)
    this.#pooler = resolvePooler(options.pooler)
    this.#guard = this.#pooler.mode === 'transaction' ? new TransactionPoolerGuard(this.#pooler.preparedStatements) : undefined
  }

  async connect({ timeoutMillis }: ConnectOptions): Promise<pg.Client> {
    let client: pg.Client
    try {
      client = this.#newClient()
    } catch (error) {
      // e.g. a connection string pg cannot parse: Node's URL error carries the whole URL.
      throw scrubError(error, this.#password)
    }
    const session = new PostgresSession()
    this.#sessions.set(client, session)
    // Before connect: an 'error' emitted while idle (or mid-connect) must
    // never be unhandled, and marks the connection broken.
    client.on('error', (error: Error) => session.broken.record(error, this.#password))
    client.on('end', () => session.broken.record(new Error(`connection to ${this.target} ended`), this.#password))
    const internals = client as unknown as PgClientInternals
    internals.connection.on('parameterStatus', () => {
      // Behind a transaction pooler a ParameterStatus comes from SET LOCAL (the guard refuses the rest).
      if (session.ready && this.#guard === undefined) session.changed = true
    })
    this.#sniffQueries(client, session)

    await connectWithin(client.connect(), {
      timeoutMillis,
      target: this.target,
      password: this.#password,
      abandon: () => internals.connection.stream.destroy(),
    })
    session.ready = true
    return client
  }

  async close(client: pg.Client): Promise<void> {
    const internals = client as unknown as PgClientInternals
    await closeWithin(
      () => client.end(),
      () => internals.connection.stream.destroy(),
      this.#timeouts.closeTimeoutMillis,
    )
  }

  transactionState(client: pg.Client): TransactionState {
    switch (client.getTransactionStatus()) {
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

  isBusy(client: pg.Client): boolean {
    const internals = client as unknown as PgClientInternals
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

  whenIdle(client: pg.Client): Promise<void> {
    if (!this.isBusy(client) || this.isBroken(client)) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const done = (): void => {
        client.off('drain', check)
        client.off('error', done)
        client.off('end', done)
        resolve()
      }
      // 'drain' fires when the queue empties after ReadyForQuery; re-check
      // anyway in case of a query submitted from a callback in between.
      const check = (): void => {
        if (!this.isBusy(client)) done()
      }
      client.on('drain', check)
      client.on('error', done)
      client.on('end', done)
    })
  }

  isSessionChanged(client: pg.Client): boolean {
    return this.#sessions.get(client)?.changed ?? true
  }

  acceptSession(client: pg.Client): void {
    const session = this.#sessions.get(client)
    if (session !== undefined) session.changed = false
  }

  isBroken(client: pg.Client): boolean {
    const session = this.#sessions.get(client)
    const internals = client as unknown as PgClientInternals
    return session === undefined || session.broken.error !== undefined || !internals._queryable || internals._ending
  }

  async rollback(client: pg.Client): Promise<void> {
    await client.query('ROLLBACK')
  }

  async resetSession(client: pg.Client): Promise<void> {
    if (this.#guard !== undefined) {
      // DISCARD ALL through a transaction pooler would hit whichever server
      // connection it picks. Nothing to reset when the guard saw every
      // statement; else rejecting makes the pool close the connection.
      if (!this.isSessionChanged(client)) return
      throw new Error(`pooler 'transaction': the session may carry state the guard could not read; closing the connection instead of sending DISCARD ALL`)
    }
    await client.query('DISCARD ALL')
    // DISCARD ALL deallocated every prepared statement, including the ones
    // pg parsed for `{ name }` queries; without this the next named query
    // would skip its Parse and fail with "prepared statement does not exist".
    ;(client as unknown as PgClientInternals).connection.parsedStatements = {}
    const session = this.#sessions.get(client)
    if (session !== undefined) session.changed = false
  }

  async ping(client: pg.Client): Promise<void> {
    await client.query('SELECT 1')
  }

  async interrupt(client: pg.Client, scope: InterruptScope): Promise<void> {
    try {
      if (scope === 'query') {
        // Nothing running: a cancel request could hit the next statement.
        if (this.isBusy(client) && !this.isBroken(client)) await this.#sendCancelRequest(client)
      } else if (this.#pooler.mode !== 'none') {
        // Behind a pooler the backend key is the pooler's own: pg_terminate_backend
        // would hit a stranger's backend. Cancel, then drop our client connection.
        if (this.isBusy(client) && !this.isBroken(client)) await this.#sendCancelRequest(client)
        this.#sessions.get(client)?.broken.record(new Error(`session ended by an interrupt (behind a pooler)`), this.#password)
        ;(client as unknown as PgClientInternals).connection.stream.destroy()
      } else {
        await this.#terminateBackend(client)
      }
    } catch {
      // Best effort by contract: the caller is already giving up on the work.
    }
  }

  classifyConnectFailure(error: unknown): ConnectFailureKind {
    if (!(error instanceof Error)) return 'fatal'
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && TRANSIENT_SQLSTATES.has(code)) return 'transient'
    const systemKind = classifySystemConnectFailure(error)
    if (systemKind !== undefined) return systemKind
    // pg's own wording when the server closes the socket during startup
    // (e.g. it is restarting) or pg's connectionTimeoutMillis fires.
    if (/^Connection terminated|timeout expired/i.test(error.message)) return 'transient'
    return 'fatal'
  }

  onBroken(client: pg.Client, listener: (error: Error) => void): void {
    this.#sessions.get(client)?.broken.onBroken(listener)
  }

  #newClient(): pg.Client {
    this.#driver ??= loadDriver<typeof pg>('pg', 'postgresConnector')
    return new this.#driver.Client({ ...this.#config })
  }

  /**
   * Wraps this client's `query` once: each statement's text is tested
   * against one precompiled regex until the session is flagged changed. No
   * allocation per query; a Submittable (pg-cursor) exposes `.text`, anything
   * else we cannot read is assumed to change the session.
   */
  #sniffQueries(client: pg.Client, session: PostgresSession): void {
    const query = client.query as unknown as QueryFunction
    const guard = this.#guard
    // Fixed arity (pg never looks at arguments.length): no rest array per query.
    const sniffing = function (this: pg.Client, config: unknown, values: unknown, callback: unknown): unknown {
      if (guard !== undefined) {
        const status = this.getTransactionStatus()
        const refusal = guard.check(config, status === 'T' || status === 'E')
        if (refusal !== undefined) return refuseQuery(refusal, config, values, callback, (this as unknown as PgClientInternals).connection)
      }
      if (!session.changed) {
        const text =
          typeof config === 'string'
            ? config
            : typeof config === 'object' && config !== null
              ? ((config as { text?: unknown }).text ?? (config as { cursor?: { text?: unknown } }).cursor?.text)
              : undefined
        // Under the guard, only what it could not read can change the session.
        if (typeof text !== 'string' || (guard === undefined && POSTGRES_SESSION_CHANGE.test(text))) session.changed = true
      }
      return query.call(this, config, values, callback)
    }
    ;(client as unknown as { query: QueryFunction }).query = sniffing
  }

  /** The protocol's CancelRequest, on a new socket, with the backend's key. */
  #sendCancelRequest(client: pg.Client): Promise<void> {
    const internals = client as unknown as PgClientInternals
    const { processID, secretKey } = internals
    if (processID == null || secretKey == null) return Promise.resolve()
    const key = typeof secretKey === 'number' ? null : Buffer.from(secretKey)
    const message = Buffer.alloc(12 + (key === null ? 4 : key.length))
    message.writeInt32BE(message.length, 0)
    message.writeInt32BE(PROTOCOL_CANCEL_REQUEST_CODE, 4)
    message.writeInt32BE(processID, 8)
    if (key === null) message.writeInt32BE(secretKey as number, 12)
    else key.copy(message, 12)

    return new Promise<void>((resolve) => {
      const socket =
        internals.host.startsWith('/')
          ? connectSocket(`${internals.host}/.s.PGSQL.${internals.port}`)
          : connectSocket(internals.port, internals.host)
      const finish = (): void => {
        socket.destroy()
        resolve()
      }
      socket.setTimeout(this.#timeouts.interruptTimeoutMillis, finish)
      socket.once('error', finish)
      // The server closes the socket once it has read the request. Wait for
      // that (as libpq does): a half-close makes PgBouncer drop the cancel.
      socket.once('close', finish)
      socket.once('connect', () => socket.write(message))
    })
  }

  /** `pg_terminate_backend` from a short-lived control connection outside the pool. */
  async #terminateBackend(client: pg.Client): Promise<void> {
    const pid = (client as unknown as PgClientInternals).processID
    if (pid == null) return
    const control = await this.connect({ timeoutMillis: this.#timeouts.interruptTimeoutMillis })
    try {
      await settleWithin(control.query('SELECT pg_terminate_backend($1)', [pid]), this.#timeouts.interruptTimeoutMillis)
    } finally {
      await this.close(control)
    }
  }
}

function passwordOf(config: pg.ClientConfig): string | undefined {
  if (typeof config.password === 'string') return config.password
  try {
    return passwordInUrl(config.connectionString)
  } catch {
    return undefined // a malformed %-escape
  }
}

function describeTarget(config: pg.ClientConfig): string {
  if (config.connectionString !== undefined) return redactUrl(config.connectionString)
  const user = config.user ?? process.env.PGUSER ?? ''
  const host = config.host ?? process.env.PGHOST ?? 'localhost'
  const port = config.port ?? (process.env.PGPORT !== undefined ? Number(process.env.PGPORT) : 5432)
  const database = config.database ?? process.env.PGDATABASE ?? user
  return formatTarget('postgres', { user, host: host.startsWith('/') ? encodeURIComponent(host) : host, port, database })
}
