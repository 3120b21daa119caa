import type { Duplex } from 'node:stream'
import { performance } from 'node:perf_hooks'
import type mysql from 'mysql2'
import type { ConnectionHandle, InterruptScope, TransactionState } from './connector.js'
import type { ResolvedConnectorOptions } from './connector-options.js'
import { askSafely } from './ask-safely.js'
import { BrokenWatch } from './broken-watch.js'
import { IdleWaiters } from './idle-waiters.js'
import { closeWithin } from './close-within.js'
import { MysqlSessionState, type MysqlPacket } from './mysql-session-state.js'
import { settleWithin } from './settle-within.js'
import { StallGuard } from './stall-guard.js'
import { StalledStatementError } from './stalled-statement-error.js'
import { watchSocket } from './watch-socket.js'

/** The parts of a mysql2 3.x `Connection` the handle reads that its typings do not declare (mysql2/lib/base/connection.js). */
interface MysqlConnectionInternals {
  /** Replaced by a TLS socket when the connection upgrades. */
  stream: Duplex
  _command: unknown
  _commands: { length: number }
  _fatalError: Error | null
  _protocolError: Error | null
  _closing?: boolean
  _handshakePacket: { serverVersion?: string } | null
  threadId: number | null
  handlePacket(packet?: MysqlPacket | null): void
  /** Every packet the client writes goes through here. */
  write(buffer: Buffer): void
}

export interface MysqlHandleSettings {
  /** Password-free, for messages. */
  readonly target: string
  /** Scrubbed from every error the handle reports. */
  readonly password: string | undefined
  /** The configured database, restored after a reset when a `USE` may have left it. */
  readonly database: string | undefined
  readonly options: ResolvedConnectorOptions
  /** Opens a short-lived connection outside any pool, for `KILL`. */
  /** A side connection for `KILL`; aborting destroys it half-open. */
  readonly openControl: (signal?: AbortSignal) => Promise<ConnectionHandle<mysql.Connection>>
}

const ER_UNKNOWN_SYSTEM_VARIABLE = 1193

/**
 * One mysql2 callback-API `Connection` (what Kysely's MysqlDialect drives)
 * and everything the pool asks about it.
 *
 * Transaction state and session changes come from the server status flags of
 * the packet that ends each command, read by a wrapper around the
 * connection's `handlePacket` (`MysqlSessionState`), with
 * `session_track_state_change=ON` set at connect. Session changes the flag
 * misses are caught by a sniff of each statement's text
 * (`mysqlSessionChange`). Breaks are heard from the socket itself: mysql2
 * hands a socket error to the running command's callback and may emit
 * nothing on the connection.
 */
export class MysqlConnectionHandle implements ConnectionHandle<mysql.Connection> {
  readonly client: mysql.Connection
  readonly #internals: MysqlConnectionInternals
  readonly #settings: MysqlHandleSettings
  readonly #session = new MysqlSessionState()
  readonly #broken = new BrokenWatch()
  readonly #guard: StallGuard | undefined
  /** `sql_mode` right after connect: it includes what the handshake flags added (mysql2 sends IGNORE_SPACE), which COM_RESET_CONNECTION drops. */
  #freshSqlMode: string | undefined = undefined
  /** `CURRENT_ROLE()` right after connect (the user's default role, or none): COM_RESET_CONNECTION keeps a `SET ROLE`. */
  #freshRole: string | null | undefined = undefined
  /** The statement-timeout assignment for this server, or none. */
  #timeoutAssignment: string | undefined = undefined
  #closing: Promise<void> | undefined = undefined
  readonly #idleWaiters = new IdleWaiters()
  /** Interrupts in flight on side connections: closing this connection ends them. */
  readonly #interrupts = new Set<AbortController>()

  constructor(connection: mysql.Connection, settings: MysqlHandleSettings) {
    this.client = connection
    this.#settings = settings
    const internals = (this.#internals = connection as unknown as MysqlConnectionInternals)
    // Synchronously after creation, before any I/O can report: an error on an
    // idle connection must never be unhandled.
    connection.on('error', (error: Error) => this.#markBroken(error))
    connection.on('end', () => this.#markBroken(new Error(`connection to ${settings.target} ended`)))
    watchSocket(internals.stream, settings.target, (error) => this.#markBroken(error))
    const stallMillis = settings.options.stallMillis
    this.#guard = stallMillis === undefined ? undefined : new StallGuard(stallMillis, () => this.#stalled(stallMillis))
    this.#observePackets()
    this.#wrapQueries()
  }

  /** Waits for the handshake, then records and sets the session baseline. The connector bounds it. */
  async open(): Promise<void> {
    const connection = this.client
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
    const stream = this.#internals.stream
    watchSocket(stream, this.#settings.target, (error) => this.#markBroken(error)) // a TLS upgrade replaced it
    if (this.#guard !== undefined) this.#watchRequests(this.#guard, stream)
    this.#timeoutAssignment = timeoutAssignment(
      this.#internals._handshakePacket?.serverVersion,
      this.#settings.options.statementTimeoutMillis,
    )
    await this.#recordFreshSession()
    await this.#restoreSessionVariables()
    this.#session.changed = false
  }

  transactionState(): TransactionState {
    const session = this.#session
    if (session.uncertain) return 'unknown'
    return session.inTransaction ? 'in-transaction' : 'idle'
  }

  isBusy(): boolean {
    const internals = this.#internals
    return internals._command != null || internals._commands.length > 0
  }

  whenIdle(): Promise<void> {
    if (!this.isBusy() || this.isBroken()) return Promise.resolve()
    return this.#idleWaiters.wait()
  }

  isSessionChanged(): boolean {
    return this.#session.changed
  }

  acceptSession(): void {
    // Only the flag: what the sniff noted for a reset to repair by hand
    // (USE, SET ROLE) stays noted, since a later reset still has to undo it.
    this.#session.changed = false
  }

  isBroken(): boolean {
    const internals = this.#internals
    return (
      this.#broken.error !== undefined ||
      internals._fatalError !== null ||
      internals._protocolError !== null ||
      internals._closing === true
    )
  }

  onBroken(listener: (error: Error) => void): void {
    this.#broken.onBroken(listener)
  }

  async rollback(): Promise<void> {
    await query(this.client, 'ROLLBACK')
  }

  async resetSession(): Promise<void> {
    const session = this.#session
    // COM_RESET_CONNECTION rolls back, drops temporary tables, releases
    // locks, clears user variables and prepared statements, restores session
    // variables (and mysql2 forgets its statement cache). Measured on
    // MariaDB 10.11, it does NOT restore: the current database, a SET ROLE,
    // the sql_mode bits the handshake added, session_track_state_change,
    // and it drops the statement timeout set at connect.
    // Those are put back below; this path runs only for dirty sessions.
    await new Promise<void>((resolve, reject) => this.client.reset((error) => (error ? reject(error) : resolve())))
    if (session.lastFailed) throw new Error(`COM_RESET_CONNECTION failed on ${this.#settings.target}`)
    const database = this.#settings.database
    if (session.useSeen) {
      // Opened without a database, the session cannot go back to none: the pool closes it instead.
      if (database === undefined || database === '') {
        throw new Error(
          `a USE may have changed the database of a connection to ${this.#settings.target} opened without one`,
        )
      }
      await query(this.client, `USE ${quoteIdentifier(database)}`)
    }
    if (session.roleSeen && this.#freshRole !== undefined) {
      await query(this.client, `SET ROLE ${roleSpec(this.#freshRole)}`)
    }
    await this.#restoreSessionVariables()
    session.changed = false
    session.useSeen = false
    session.roleSeen = false
  }

  async ping(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.client.ping((error) => (error ? reject(error) : resolve())))
  }

  async interrupt(scope: InterruptScope, isCurrent: () => boolean): Promise<void> {
    const threadId = this.#internals.threadId
    const timeoutMillis = this.#settings.options.interruptTimeoutMillis
    const deadline = performance.now() + timeoutMillis
    // Nothing running: a KILL QUERY could hit the next statement.
    const mayStillSend = (): boolean =>
      performance.now() < deadline && askSafely(isCurrent) && !this.isBroken() && (scope === 'session' || this.isBusy())
    if (threadId == null || !mayStillSend()) return
    const kill = `${scope === 'query' ? 'KILL QUERY' : 'KILL'} ${Number(threadId)}`
    // Closing this connection ends its interrupts: their side connections never outlive it.
    const abort = new AbortController()
    this.#interrupts.add(abort)
    const work = async (): Promise<void> => {
      const control = await this.#settings.openControl(abort.signal)
      const closeControl = (): void => void control.close()
      abort.signal.addEventListener('abort', closeControl, { once: true })
      try {
        if (mayStillSend()) await query(control.client, kill)
      } finally {
        abort.signal.removeEventListener('abort', closeControl)
        await control.close()
      }
    }
    try {
      await settleWithin(work(), timeoutMillis)
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
    const stream = this.#internals.stream as Duplex & { ref?(): void; unref?(): void }
    if (keep) stream.ref?.()
    else stream.unref?.()
  }

  async #close(): Promise<void> {
    const healthy = !this.isBroken() && !this.isBusy()
    this.#broken.closed(new Error(`connection to ${this.#settings.target} was closed`))
    this.#guard?.stop()
    this.#idleWaiters.wakeAll()
    for (const interrupt of this.#interrupts) interrupt.abort()
    const stream = this.#internals.stream
    // mysql2's destroy() is only stream.end(), a half-close: destroy the socket itself.
    const destroy = (): void => {
      stream.destroy()
    }
    if (!healthy) {
      destroy()
      return
    }
    // COM_QUIT, then wait for the server to close its end; the socket is
    // destroyed whatever happened, so nothing is ever left half-closed.
    const goodbye = (): Promise<void> =>
      new Promise<void>((resolve) => {
        stream.once('close', () => resolve())
        this.client.end(() => {})
      })
    await closeWithin(goodbye, destroy, this.#settings.options.closeTimeoutMillis)
  }

  #markBroken(error: Error): void {
    this.#broken.record(error, this.#settings.password)
    this.#guard?.stop()
    // A broken connection never becomes idle: whoever waits for that is told now.
    this.#idleWaiters.wakeAll()
  }

  /** The guard saw a request go unanswered too long: the path is dead, so is the connection. */
  #stalled(stallMillis: number): void {
    const error = new StalledStatementError(this.#settings.target, stallMillis)
    this.#markBroken(error)
    // mysql2 hands this error to the command waiting for the answer.
    this.#internals.stream.destroy(error)
  }

  /** Each packet written arms the guard; each chunk read disarms it. */
  #watchRequests(guard: StallGuard, stream: Duplex): void {
    const internals = this.#internals
    const write = internals.write
    internals.write = function (this: unknown, buffer: Buffer): void {
      guard.request()
      write.call(this, buffer)
    }
    stream.on('data', () => guard.answered())
  }

  /**
   * Wraps `handlePacket` once. When a packet ends the current command (mysql2
   * moves on to the next one), its status flags are the server's word on the
   * transaction and session. Row packets are not looked at.
   */
  #observePackets(): void {
    const internals = this.#internals
    const handlePacket = internals.handlePacket
    const handle = this
    internals.handlePacket = function (this: MysqlConnectionInternals, packet?: MysqlPacket | null): void {
      const command = this._command
      handlePacket.call(this, packet)
      if (packet == null || command == null || this._command === command) return
      handle.#session.observeFinalPacket(packet)
      if (this._command == null && this._commands.length === 0) handle.#idleWaiters.wakeAll()
    }
  }

  /**
   * Wraps `query` and `execute` once: every statement passes
   * `#beforeStatement`. No allocation per query.
   */
  #wrapQueries(): void {
    type Method = (this: unknown, sql: unknown, values: unknown, callback: unknown) => unknown
    const target = this.client as unknown as Record<'query' | 'execute', Method>
    const handle = this
    for (const method of ['query', 'execute'] as const) {
      const original = target[method]
      // Fixed arity (mysql2 never looks at arguments.length): no rest array per query.
      target[method] = function (this: unknown, sql: unknown, values: unknown, callback: unknown): unknown {
        handle.#beforeStatement(sql)
        return original.call(this, sql, values, callback)
      }
    }
  }

  /** Every statement's text goes to the session's sniff; a text it cannot read may have changed anything. */
  #beforeStatement(sql: unknown): void {
    const text =
      typeof sql === 'string'
        ? sql
        : typeof sql === 'object' && sql !== null
          ? (sql as { sql?: unknown }).sql
          : undefined
    this.#session.noteStatement(typeof text === 'string' ? text : undefined)
  }

  /** What a reset must put back that COM_RESET_CONNECTION does not (see `resetSession`). */
  async #recordFreshSession(): Promise<void> {
    let row: Record<string, unknown> | undefined
    try {
      row = (await select(this.client, 'SELECT @@SESSION.sql_mode AS sql_mode, CURRENT_ROLE() AS role'))[0]
      this.#freshRole = typeof row?.role === 'string' && row.role !== 'NONE' ? row.role : null
    } catch {
      // No roles (MySQL 5.7): nothing to restore there.
      row = (await select(this.client, 'SELECT @@SESSION.sql_mode AS sql_mode'))[0]
    }
    this.#freshSqlMode = typeof row?.sql_mode === 'string' ? row.sql_mode : undefined
  }

  /**
   * Sets the baseline variables in one statement: the connect-time sql_mode,
   * the statement timeout, and session-state tracking (so the server flags
   * every later change in its OK packets). Servers without
   * session_track_state_change (MySQL < 5.7) leave the SQL sniff alone.
   */
  async #restoreSessionVariables(): Promise<void> {
    const sqlMode = this.#freshSqlMode
    const assignments = sqlMode === undefined ? [] : ['sql_mode = ?']
    if (this.#timeoutAssignment !== undefined) assignments.push(this.#timeoutAssignment)
    const params = sqlMode === undefined ? [] : [sqlMode]
    try {
      await query(this.client, `SET SESSION ${[...assignments, 'session_track_state_change = ON'].join(', ')}`, params)
      this.#session.tracking = true
    } catch (error) {
      if ((error as { errno?: unknown }).errno !== ER_UNKNOWN_SYSTEM_VARIABLE) throw error
      this.#session.tracking = false
      if (assignments.length > 0) await query(this.client, `SET SESSION ${assignments.join(', ')}`, params)
    }
  }
}

/**
 * The session variable that limits statements on this server: MariaDB's
 * `max_statement_time` (seconds, fractional, every statement) or MySQL's
 * `max_execution_time` (milliseconds, read-only SELECTs only).
 */
function timeoutAssignment(serverVersion: string | undefined, millis: number | undefined): string | undefined {
  if (millis === undefined) return undefined
  return /mariadb/i.test(serverVersion ?? '')
    ? `max_statement_time = ${millis / 1000}`
    : `max_execution_time = ${millis}`
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
