import type mysql from 'mysql2'
import type { MysqlConnection, MysqlConnectionOptions } from './driver-types/mysql-connection.js'
import type { ConnectFailureKind, ConnectOptions, Connector } from './connector.js'
import { classifySystemConnectFailure } from './connect-failure-codes.js'
import { connectWithin } from './connect-within.js'
import { resolveConnectorOptions, type ConnectorOptions, type ResolvedConnectorOptions } from './connector-options.js'
import { checkMysqlUrl, formatTarget } from './connection-url.js'
import { loadDriver } from './load-driver.js'
import { MysqlConnectionHandle } from './mysql-connection-handle.js'
import { redactUrl } from './redact-url.js'
import { scrubError } from './scrub-error.js'

/** `closeTimeoutMillis`, `interruptTimeoutMillis`, `statementTimeoutMillis`: see `ConnectorOptions`. */
export interface MysqlConnectorOptions extends ConnectorOptions {}

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

/** When the user did not say: probe an idle connection after 10 s of silence (the OS default is 2 hours). */
const DEFAULT_KEEPALIVE_DELAY_MILLIS = 10_000

/**
 * A `Connector` for mysql2's callback-API `Connection`, for MySQL >= 5.7 and
 * MariaDB >= 10.2; each connection behind a `MysqlConnectionHandle` (how the
 * server tells us each thing is described there).
 *
 * TCP keepalive is on unless the configuration says `enableKeepAlive: false`.
 * `statementTimeoutMillis` sets MariaDB's `max_statement_time` (every
 * statement) or MySQL's `max_execution_time` (SELECT only) at connect and
 * again after each session reset, which drops it.
 *
 * Connect failures: `transient` for too many connections (1040), per-user
 * limits (1203, 1226), server shutdown (1053, 1077), refused/reset/timed-out
 * sockets, a connection lost during connect, and the connect timeout; `fatal`
 * for the rest: access denied (1045, 1044), unknown database (1049), unknown
 * host (ENOTFOUND, EAI_*), TLS and configuration errors.
 *
 * A URI that does not parse, or with a malformed %-escape, is a
 * `PoolConfigError` at once.
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
  readonly #options: ResolvedConnectorOptions
  #driver: typeof mysql | undefined

  constructor(urlOrConfig: string | mysql.ConnectionOptions, options: MysqlConnectorOptions) {
    const config: mysql.ConnectionOptions = typeof urlOrConfig === 'string' ? { uri: urlOrConfig } : { ...urlOrConfig }
    const fromUrl = config.uri === undefined ? undefined : checkMysqlUrl(config.uri)
    this.#password = passwordOf(config) ?? fromUrl?.password
    this.#database = config.database !== undefined && config.database !== '' ? config.database : fromUrl?.database
    this.target = describeTarget(config)
    this.#options = resolveConnectorOptions(options)
    if (config.enableKeepAlive === undefined) {
      config.enableKeepAlive = true
      config.keepAliveInitialDelay ??= DEFAULT_KEEPALIVE_DELAY_MILLIS
    }
    this.#config = Object.freeze(config)
  }

  async connect({ timeoutMillis, signal }: ConnectOptions): Promise<MysqlConnectionHandle> {
    let handle: MysqlConnectionHandle
    try {
      this.#driver ??= loadDriver<typeof mysql>('mysql2', 'mysqlConnector')
      // mysql2's own connectTimeout is left as configured; ours bounds the whole init.
      handle = new MysqlConnectionHandle(this.#driver.createConnection({ ...this.#config }), {
        target: this.target,
        password: this.#password,
        database: this.#database,
        options: this.#options,
        openControl: (abort) => this.connect({ timeoutMillis: this.#options.interruptTimeoutMillis, signal: abort }),
      })
    } catch (error) {
      throw scrubError(error, this.#password)
    }
    await connectWithin(handle.open(), {
      timeoutMillis,
      target: this.target,
      password: this.#password,
      abandon: () => void handle.close(),
      signal,
    })
    return handle
  }

  classifyConnectFailure(error: unknown): ConnectFailureKind {
    if (!(error instanceof Error)) return 'fatal'
    const { errno, code } = error as { errno?: unknown; code?: unknown }
    if (typeof errno === 'number' && TRANSIENT_ERRNOS.has(errno)) return 'transient'
    if (code === PROTOCOL_CONNECTION_LOST) return 'transient'
    return classifySystemConnectFailure(error) ?? 'fatal'
  }
}

function passwordOf(config: mysql.ConnectionOptions): string | undefined {
  if (typeof config.password === 'string' && config.password !== '') return config.password
  if (typeof config.password1 === 'string' && config.password1 !== '') return config.password1
  return undefined
}

function describeTarget(config: mysql.ConnectionOptions): string {
  if (config.uri !== undefined && config.host === undefined) return redactUrl(config.uri)
  const user = config.user ?? ''
  const host = config.socketPath ?? config.host ?? 'localhost'
  const port = config.socketPath !== undefined ? undefined : (config.port ?? 3306)
  return formatTarget('mysql', { user, host: encodeURIComponent(host), port, database: config.database ?? '' })
}
