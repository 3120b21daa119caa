import type mysql from 'mysql2'
import type { MysqlConnection, MysqlConnectionOptions } from './driver-types/mysql-connection.js'
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
import { formatTarget, parseConnectionUrl, passwordInUrl } from './connection-url.js'
import { loadDriver } from './load-driver.js'
import { redactUrl } from './redact-url.js'
import { scrubError } from './scrub-error.js'
import { MYSQL_RESET_GAPS, MYSQL_SESSION_CHANGE } from './session-change-detector.js'
import { settleWithin } from './settle-within.js'

export interface MysqlConnectorOptions {
  /** Longest wait for a graceful `COM_QUIT` before the socket is destroyed. Default 5 000 ms. */
  readonly closeTimeoutMillis?: number
  /** Longest time the control connection running `KILL` may take. Default 5 000 ms. */
  readonly interruptTimeoutMillis?: number
}

/** The parts of a mysql2 3.x `Connection` the connector reads that its typings do not declare (mysql2/lib/base/connection.js). */
interface MysqlConnectionInternals {
  _command: unknown
  _commands: { length: number }
  _fatalError: Error | null
  _protocolError: Error | null
  _closing?: boolean
  threadId: number | null
  handlePacket(packet?: MysqlPacket | null): void
}

/** mysql2's Packet: the payload is `buffer[start + 4, end)`. */
interface MysqlPacket {
  buffer: Buffer
  start: number
  end: number
}

// Server status flags (include/mysql_com.h).
const SERVER_STATUS_IN_TRANS = 0x0001
const SERVER_STATUS_AUTOCOMMIT = 0x0002
const SERVER_SESSION_STATE_CHANGED = 0x4000

const ER_LOCK_DEADLOCK = 1213

/** Per-connection state, updated from every command's final packet. */
class MysqlSession {
  /** Status flags of the last OK/EOF packet that ended a command. */
  status = SERVER_STATUS_AUTOCOMMIT
  /** An error ended a command inside a transaction (or with autocommit off): we do not know what the server kept. */
  uncertain = false
  /** The last command ended with an ERR packet (checked after COM_RESET_CONNECTION). */
  lastFailed = false
  /** The session may differ from a fresh one. */
  changed = false
  /** The server tracks state changes (session_track_state_change=ON took). */
  tracking = false
  /** `sql_mode` right after connect: it includes what the handshake flags added (mysql2 sends IGNORE_SPACE), which COM_RESET_CONNECTION drops. */
  freshSqlMode: string | undefined = undefined
  /** `CURRENT_ROLE()` right after connect (the user's default role, or none): COM_RESET_CONNECTION keeps a `SET ROLE`. */
  freshRole: string | null | undefined = undefined
  /** A `USE` may have run: COM_RESET_CONNECTION keeps the current database. */
  useSeen = false
  /** A `SET ROLE` may have run. */
  roleSeen = false
  /** The first error or end seen; the connection is never reused after it. */
  readonly broken = new BrokenWatch()
  idleWaiters: Array<() => void> = []
}

const TRANSIENT_ERRNOS = new Set([
  1040, // ER_CON_COUNT_ERROR: too many connections
  1203, // ER_TOO_MANY_USER_CONNECTIONS
  1226, // ER_USER_LIMIT_REACHED (max_user_connections and friends)
  1053, // ER_SERVER_SHUTDOWN
  1077, // ER_NORMAL_SHUTDOWN
  1205, // lock wait timeout (can hit the init statements)
  1213, // deadlock (same)
])

/** mysql2's code for a socket that closed under it (here: during connect). */
const PROTOCOL_CONNECTION_LOST = 'PROTOCOL_CONNECTION_LOST'

/**
 * A `Connector` for mysql2's callback-API `Connection` (what Kysely's
 * MysqlDialect drives), for MySQL >= 5.7 and MariaDB >= 10.2.
 *
 * Transaction state and session changes come from the server status flags of
 * the packet that ends each command (OK or EOF), read by a wrapper around the
 * connection's `handlePacket`: `SERVER_STATUS_IN_TRANS`, and
 * `SERVER_SESSION_STATE_CHANGED` with `session_track_state_change=ON` set at
 * connect. An ERR packet carries no status: after one inside a transaction
 * (or with autocommit off) the state is `unknown` (the pool rolls back),
 * except a deadlock, which InnoDB always rolls back.
 *
 * Session changes the flag misses (or that should not depend on it) are
 * caught by a sniff of each statement's text (`MYSQL_SESSION_CHANGE`).
 *
 * Connect failures: `transient` for too many connections (1040), per-user
 * limits (1203, 1226), server shutdown (1053, 1077), refused/reset/timed-out
 * sockets, a connection lost during connect, and the connect timeout; `fatal`
 * for the rest: access denied (1045, 1044), unknown database (1049), unknown
 * host (ENOTFOUND, EAI_*), TLS and configuration errors.
 */
export function mysqlConnector(
  urlOrConfig: string | MysqlConnectionOptions,
  options: MysqlConnectorOptions = {},
): Connector<MysqlConnection> {
  return new MysqlConnector(urlOrConfig, options)
}

class MysqlConnector implements Connector<mysql.Connection> {
  readonly dialect = 'mysql'
  readonly target: string

  readonly #config: Readonly<mysql.ConnectionOptions>
  readonly #password: string | undefined
  readonly #database: string | undefined
  readonly #timeouts: ConnectorTimeouts
  readonly #sessions = new WeakMap<mysql.Connection, MysqlSession>()
  #driver: typeof mysql | undefined

  constructor(urlOrConfig: string | mysql.ConnectionOptions, options: MysqlConnectorOptions) {
    const config: mysql.ConnectionOptions = typeof urlOrConfig === 'string' ? { uri: urlOrConfig } : { ...urlOrConfig }
    this.#config = Object.freeze(config)
    this.#password = passwordOf(config)
    this.#database = databaseOf(config)
    this.target = describeTarget(config)
    this.#timeouts = resolveConnectorTimeouts(options)
  }

  async connect({ timeoutMillis }: ConnectOptions): Promise<mysql.Connection> {
    const session = new MysqlSession()
    let connection: mysql.Connection
    try {
      this.#driver ??= loadDriver<typeof mysql>('mysql2', 'mysqlConnector')
      // mysql2's own connectTimeout is left as configured; ours bounds the whole init.
      connection = this.#driver.createConnection({ ...this.#config })
    } catch (error) {
      throw scrubError(error, this.#password)
    }
    this.#sessions.set(connection, session)
    // Synchronously after creation, before any I/O can report: an error on an
    // idle connection must never be unhandled.
    connection.on('error', (error: Error) => this.#markBroken(session, error))
    connection.on('end', () => this.#markBroken(session, new Error(`connection to ${this.target} ended`)))
    this.#observePackets(connection, session)
    this.#sniffQueries(connection, session)

    await connectWithin(this.#initialise(connection, session), {
      timeoutMillis,
      target: this.target,
      password: this.#password,
      abandon: () => connection.destroy(),
    })
    return connection
  }

  async close(connection: mysql.Connection): Promise<void> {
    if (this.isBroken(connection)) {
      connection.destroy()
      return
    }
    await closeWithin(
      () => new Promise<void>((resolve) => connection.end(() => resolve())),
      () => connection.destroy(),
      this.#timeouts.closeTimeoutMillis,
    )
  }

  transactionState(connection: mysql.Connection): TransactionState {
    const session = this.#sessions.get(connection)
    if (session === undefined || session.uncertain) return 'unknown'
    return (session.status & SERVER_STATUS_IN_TRANS) !== 0 ? 'in-transaction' : 'idle'
  }

  isBusy(connection: mysql.Connection): boolean {
    const internals = connection as unknown as MysqlConnectionInternals
    return internals._command != null || internals._commands.length > 0
  }

  whenIdle(connection: mysql.Connection): Promise<void> {
    const session = this.#sessions.get(connection)
    if (session === undefined || !this.isBusy(connection) || this.isBroken(connection)) return Promise.resolve()
    return new Promise<void>((resolve) => session.idleWaiters.push(resolve))
  }

  isSessionChanged(connection: mysql.Connection): boolean {
    return this.#sessions.get(connection)?.changed ?? true
  }

  acceptSession(connection: mysql.Connection): void {
    // Only the flag: what the sniff noted for a reset to repair by hand
    // (USE, SET ROLE) stays noted, since a later reset still has to undo it.
    const session = this.#sessions.get(connection)
    if (session !== undefined) session.changed = false
  }

  isBroken(connection: mysql.Connection): boolean {
    const session = this.#sessions.get(connection)
    const internals = connection as unknown as MysqlConnectionInternals
    return (
      session === undefined ||
      session.broken.error !== undefined ||
      internals._fatalError !== null ||
      internals._protocolError !== null ||
      internals._closing === true
    )
  }

  async rollback(connection: mysql.Connection): Promise<void> {
    await query(connection, 'ROLLBACK')
  }

  async resetSession(connection: mysql.Connection): Promise<void> {
    const session = this.#sessions.get(connection)
    if (session === undefined) throw new Error('not a connection of this connector')
    // COM_RESET_CONNECTION rolls back, drops temporary tables, releases
    // locks, clears user variables and prepared statements, restores session
    // variables (and mysql2 forgets its statement cache). Measured on
    // MariaDB 10.11, it does NOT restore: the current database, a SET ROLE,
    // the sql_mode bits the handshake added, session_track_state_change.
    // Those are put back below; this path runs only for dirty sessions.
    await new Promise<void>((resolve, reject) => connection.reset((error) => (error ? reject(error) : resolve())))
    if (session.lastFailed) throw new Error(`COM_RESET_CONNECTION failed on ${this.target}`)
    if (session.useSeen && this.#database !== undefined) {
      await query(connection, `USE ${quoteIdentifier(this.#database)}`)
    }
    if (session.roleSeen && session.freshRole !== undefined) {
      await query(connection, `SET ROLE ${roleSpec(session.freshRole)}`)
    }
    await this.#restoreSessionVariables(connection, session)
    session.changed = false
    session.useSeen = false
    session.roleSeen = false
  }

  async ping(connection: mysql.Connection): Promise<void> {
    await new Promise<void>((resolve, reject) => connection.ping((error) => (error ? reject(error) : resolve())))
  }

  async interrupt(connection: mysql.Connection, scope: InterruptScope): Promise<void> {
    const threadId = (connection as unknown as MysqlConnectionInternals).threadId
    if (threadId == null) return
    // Nothing running: a KILL QUERY could hit the next statement.
    if (scope === 'query' && (!this.isBusy(connection) || this.isBroken(connection))) return
    try {
      const control = await this.connect({ timeoutMillis: this.#timeouts.interruptTimeoutMillis })
      try {
        const kill = `${scope === 'query' ? 'KILL QUERY' : 'KILL'} ${Number(threadId)}`
        await settleWithin(query(control, kill), this.#timeouts.interruptTimeoutMillis)
      } finally {
        await this.close(control)
      }
    } catch {
      // Best effort by contract: the caller is already giving up on the work.
    }
  }

  classifyConnectFailure(error: unknown): ConnectFailureKind {
    if (!(error instanceof Error)) return 'fatal'
    const { errno, code } = error as { errno?: unknown; code?: unknown }
    if (typeof errno === 'number' && TRANSIENT_ERRNOS.has(errno)) return 'transient'
    if (code === PROTOCOL_CONNECTION_LOST) return 'transient'
    return classifySystemConnectFailure(error) ?? 'fatal'
  }

  onBroken(connection: mysql.Connection, listener: (error: Error) => void): void {
    this.#sessions.get(connection)?.broken.onBroken(listener)
  }

  async #initialise(connection: mysql.Connection, session: MysqlSession): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        connection.off('connect', onConnect)
        reject(error)
      }
      const onConnect = (): void => {
        connection.off('error', onError)
        resolve()
      }
      connection.once('error', onError)
      connection.once('connect', onConnect)
    })
    await this.#recordFreshSession(connection, session)
    await this.#restoreSessionVariables(connection, session)
    session.changed = false
  }

  /** What a reset must put back that COM_RESET_CONNECTION does not (see `resetSession`). */
  async #recordFreshSession(connection: mysql.Connection, session: MysqlSession): Promise<void> {
    let row: Record<string, unknown> | undefined
    try {
      row = (await select(connection, 'SELECT @@SESSION.sql_mode AS sql_mode, CURRENT_ROLE() AS role'))[0]
      session.freshRole = typeof row?.role === 'string' && row.role !== 'NONE' ? row.role : null
    } catch {
      // No roles (MySQL 5.7): nothing to restore there.
      row = (await select(connection, 'SELECT @@SESSION.sql_mode AS sql_mode'))[0]
    }
    session.freshSqlMode = typeof row?.sql_mode === 'string' ? row.sql_mode : undefined
  }

  /**
   * Restores the connect-time sql_mode and asks the server to flag every
   * session-state change in its OK packets, in one statement. Servers
   * without session_track_state_change (MySQL < 5.7) leave the SQL sniff alone.
   */
  async #restoreSessionVariables(connection: mysql.Connection, session: MysqlSession): Promise<void> {
    const sqlMode = session.freshSqlMode
    const assignments = sqlMode === undefined ? [] : ['sql_mode = ?']
    try {
      await query(connection, `SET SESSION ${[...assignments, 'session_track_state_change = ON'].join(', ')}`, sqlMode === undefined ? [] : [sqlMode])
      session.tracking = true
    } catch (error) {
      if ((error as { errno?: unknown }).errno !== 1193 /* ER_UNKNOWN_SYSTEM_VARIABLE */) throw error
      session.tracking = false
      if (sqlMode !== undefined) await query(connection, 'SET SESSION sql_mode = ?', [sqlMode])
    }
  }

  #markBroken(session: MysqlSession, error: Error): void {
    // Waiters for idle are woken on every error: a broken connection never becomes idle.
    this.#wakeIdleWaiters(session)
    session.broken.record(error, this.#password)
  }

  #wakeIdleWaiters(session: MysqlSession): void {
    if (session.idleWaiters.length === 0) return
    const waiters = session.idleWaiters
    session.idleWaiters = []
    for (const wake of waiters) wake()
  }

  /**
   * Wraps this connection's `handlePacket` once. When a packet ends the
   * current command (mysql2 moves on to the next one), its status flags are
   * the server's word on the transaction and session: an OK packet
   * (`0x00`, two length-encoded integers, then the flags), an EOF packet
   * (`0xFE`, warnings, flags) or an ERR packet (`0xFF`, no flags). A few
   * byte reads per command; row packets are not looked at.
   */
  #observePackets(connection: mysql.Connection, session: MysqlSession): void {
    const internals = connection as unknown as MysqlConnectionInternals
    const handlePacket = internals.handlePacket
    internals.handlePacket = function (this: MysqlConnectionInternals, packet?: MysqlPacket | null): void {
      const command = this._command
      handlePacket.call(this, packet)
      if (packet == null || command == null || this._command === command) return
      observeFinalPacket(session, packet)
      if (this._command == null && this._commands.length === 0 && session.idleWaiters.length > 0) {
        const waiters = session.idleWaiters
        session.idleWaiters = []
        for (const wake of waiters) wake()
      }
    }
  }

  /**
   * Wraps `query` and `execute` once: one regex test per statement while the
   * session is clean; once dirty, one test for the `USE` / `SET ROLE` a reset
   * has to undo by hand.
   */
  #sniffQueries(connection: mysql.Connection, session: MysqlSession): void {
    type Method = (this: unknown, sql: unknown, values: unknown, callback: unknown) => unknown
    const target = connection as unknown as Record<'query' | 'execute', Method>
    for (const method of ['query', 'execute'] as const) {
      const original = target[method]
      // Fixed arity (mysql2 never looks at arguments.length): no rest array per query.
      target[method] = function (this: unknown, sql: unknown, values: unknown, callback: unknown): unknown {
        const text = typeof sql === 'string' ? sql : typeof sql === 'object' && sql !== null ? (sql as { sql?: unknown }).sql : undefined
        if (typeof text !== 'string') {
          session.changed = session.useSeen = session.roleSeen = true
        } else if (!session.changed) {
          // The clean path: one regex test.
          if (MYSQL_SESSION_CHANGE.test(text)) {
            session.changed = true
            noteResetGaps(session, text)
          }
        } else {
          // Already dirty: only watch for what the reset must repair by hand.
          noteResetGaps(session, text)
        }
        return original.call(this, sql, values, callback)
      }
    }
  }
}

function observeFinalPacket(session: MysqlSession, packet: MysqlPacket): void {
  const buffer = packet.buffer
  const payload = packet.start + 4
  const header = buffer[payload]
  if (header === 0xff) {
    session.lastFailed = true
    const errno = buffer.readUInt16LE(payload + 1)
    if (errno === ER_LOCK_DEADLOCK) {
      // InnoDB rolls the whole transaction back on a deadlock.
      session.status &= ~SERVER_STATUS_IN_TRANS
      session.uncertain = false
    } else if ((session.status & SERVER_STATUS_IN_TRANS) !== 0 || (session.status & SERVER_STATUS_AUTOCOMMIT) === 0) {
      // Most errors keep the transaction open, some (lock wait timeout with
      // innodb_rollback_on_timeout) end it, and with autocommit off a failed
      // statement may have opened one: only a rollback makes it certain.
      session.uncertain = true
    }
    return
  }
  let status: number
  if (header === 0x00) {
    let offset = payload + 1
    offset = skipLengthEncodedInteger(buffer, offset) // affected rows
    offset = skipLengthEncodedInteger(buffer, offset) // last insert id
    if (offset + 2 > packet.end) return
    status = buffer.readUInt16LE(offset)
  } else if (header === 0xfe && packet.end - payload >= 5) {
    status = buffer.readUInt16LE(payload + 3)
  } else {
    return
  }
  session.lastFailed = false
  session.status = status
  session.uncertain = false
  if ((status & SERVER_SESSION_STATE_CHANGED) !== 0) session.changed = true
}

function skipLengthEncodedInteger(buffer: Buffer, offset: number): number {
  const first = buffer[offset]
  if (first === undefined || first < 0xfb) return offset + 1
  if (first === 0xfc) return offset + 3
  if (first === 0xfd) return offset + 4
  return offset + 9
}

function noteResetGaps(session: MysqlSession, text: string): void {
  if (session.useSeen && session.roleSeen) return
  const gap = MYSQL_RESET_GAPS.exec(text)
  if (gap === null) return
  if (/^USE$/i.test(gap[1]!)) session.useSeen = true
  else session.roleSeen = true
}

function query(connection: mysql.Connection, sql: string, params: unknown[] = []): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    connection.query(sql, params, (error) => (error ? reject(error) : resolve()))
  })
}

function select(connection: mysql.Connection, sql: string): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    connection.query(sql, (error, rows) => (error ? reject(error) : resolve(rows as Array<Record<string, unknown>>)))
  })
}

/** `SET ROLE` operand for a `CURRENT_ROLE()` value: MariaDB returns a bare name, MySQL 8 `` `r`@`%` `` lists. */
function roleSpec(role: string | null): string {
  if (role === null) return 'NONE'
  return role.includes('@') ? role : quoteIdentifier(role)
}

function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``
}

function passwordOf(config: mysql.ConnectionOptions): string | undefined {
  if (typeof config.password === 'string' && config.password !== '') return config.password
  if (typeof config.password1 === 'string' && config.password1 !== '') return config.password1
  return passwordInUrl(config.uri)
}

function databaseOf(config: mysql.ConnectionOptions): string | undefined {
  if (config.database !== undefined && config.database !== '') return config.database
  const path = parseConnectionUrl(config.uri)?.pathname.slice(1)
  return path === undefined || path === '' ? undefined : decodeURIComponent(path)
}

function describeTarget(config: mysql.ConnectionOptions): string {
  if (config.uri !== undefined && config.host === undefined) return redactUrl(config.uri)
  const user = config.user ?? ''
  const host = config.socketPath ?? config.host ?? 'localhost'
  const port = config.socketPath !== undefined ? undefined : (config.port ?? 3306)
  return formatTarget('mysql', { user, host: encodeURIComponent(host), port, database: config.database ?? '' })
}
