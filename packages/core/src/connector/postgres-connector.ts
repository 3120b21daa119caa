import type pg from 'pg'
import type { PostgresClient, PostgresClientConfig } from './driver-types/postgres-client.js'
import type { ConnectFailureKind, ConnectOptions, Connector } from './connector.js'
import { classifySystemConnectFailure } from './connect-failure-codes.js'
import { connectWithin } from './connect-within.js'
import { resolveConnectorOptions, type ConnectorOptions, type ResolvedConnectorOptions } from './connector-options.js'
import { checkPostgresUrl, formatTarget } from './connection-url.js'
import { loadDriver } from './load-driver.js'
import { PostgresConnectionHandle } from './postgres-connection-handle.js'
import { redactUrl } from './redact-url.js'
import { scrubError } from './scrub-error.js'
import { PoolConfigError } from '../errors/pool-config-error.js'
import { resolvePooler, type PoolerOption, type PoolerSettings } from '../pooler/pooler-option.js'
import { TransactionPoolerGuard } from '../pooler/transaction-pooler-guard.js'

/** `closeTimeoutMillis`, `interruptTimeoutMillis`, `statementTimeoutMillis`: see `ConnectorOptions`. */
export interface PostgresConnectorOptions extends ConnectorOptions {
  /**
   * What sits between us and the server (see `PoolerMode`). Under
   * `'transaction'` session state is refused before it is sent
   * (`SessionStateError`) and the session is never reset with `DISCARD ALL`.
   * @default 'none'
   */
  readonly pooler?: PoolerOption
}

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
  '08000',
  '08001',
  '08003',
  '08004',
  '08006', // connection_exception class
])

/** When the user did not say: probe an idle connection after 10 s of silence (the OS default is 2 hours). */
const DEFAULT_KEEPALIVE_DELAY_MILLIS = 10_000

/**
 * A `Connector` for node-postgres (`pg` >= 8.21): one `pg.Client` per
 * connection, each behind a `PostgresConnectionHandle` (how pg tells us each
 * thing is described there).
 *
 * TCP keepalive is on unless the configuration says `keepAlive: false`.
 * `statementTimeoutMillis` is sent as the `statement_timeout` startup
 * parameter: it is the session's default, so `DISCARD ALL` keeps it and it
 * never counts as a session change.
 *
 * Connect failures: `transient` for SQLSTATE 53xxx (too many connections,
 * incl. a role's CONNECTION LIMIT), 57P01-03 (shutting down/starting up), class
 * 08, refused/reset/timed-out sockets, unreachable networks, a connection the
 * server closed during startup, and the connect timeout; `fatal` for
 * everything else — authentication (28P01, 28000), unknown database (3D000),
 * unknown host (ENOTFOUND, EAI_*), TLS and configuration errors — because the
 * server answered deliberately and a retry storm would only hide it.
 *
 * A connection string that does not parse is a `PoolConfigError` at once.
 */
export function postgresConnector(
  urlOrConfig: string | PostgresClientConfig,
  options: PostgresConnectorOptions = {},
): Connector<PostgresClient> {
  return new PostgresConnector(urlOrConfig, options)
}

class PostgresConnector implements Connector<pg.Client> {
  readonly dialect = 'postgres'
  readonly target: string

  readonly #config: Readonly<pg.ClientConfig>
  readonly #password: string | undefined
  readonly #options: ResolvedConnectorOptions
  readonly #pooler: PoolerSettings
  /** Set under `pooler: 'transaction'` only. */
  readonly #guard: TransactionPoolerGuard | undefined
  #driver: typeof pg | undefined

  constructor(urlOrConfig: string | pg.ClientConfig, options: PostgresConnectorOptions) {
    const config: pg.ClientConfig =
      typeof urlOrConfig === 'string' ? { connectionString: urlOrConfig } : { ...urlOrConfig }
    const fromUrl = config.connectionString === undefined ? undefined : checkPostgresUrl(config.connectionString)
    this.#password = typeof config.password === 'string' ? config.password : fromUrl?.password
    this.target = describeTarget(config)
    this.#options = resolveConnectorOptions(options)
    this.#pooler = resolvePooler(options.pooler)
    this.#guard =
      this.#pooler.mode === 'transaction' ? new TransactionPoolerGuard(this.#pooler.preparedStatements) : undefined
    if (this.#pooler.mode !== 'none' && this.#options.statementTimeoutMillis !== undefined) {
      // Sent as a startup parameter, which PgBouncer and its kin refuse.
      throw new PoolConfigError([
        `statementTimeoutMillis cannot be sent through a pooler (pooler: '${this.#pooler.mode}'): set it on the role instead (ALTER ROLE … SET statement_timeout = …)`,
      ])
    }
    if (config.keepAlive === undefined) {
      config.keepAlive = true
      config.keepAliveInitialDelayMillis ??= DEFAULT_KEEPALIVE_DELAY_MILLIS
    }
    if (this.#options.statementTimeoutMillis !== undefined)
      config.statement_timeout = this.#options.statementTimeoutMillis
    this.#config = Object.freeze(config)
  }

  async connect({ timeoutMillis, signal }: ConnectOptions): Promise<PostgresConnectionHandle> {
    let handle: PostgresConnectionHandle
    try {
      this.#driver ??= loadDriver<typeof pg>('pg', 'postgresConnector')
      handle = new PostgresConnectionHandle(new this.#driver.Client({ ...this.#config }), {
        target: this.target,
        password: this.#password,
        options: this.#options,
        resetStatement: this.#guard === undefined ? 'DISCARD ALL' : undefined,
        pooler: this.#pooler.mode,
        guard: this.#guard,
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
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && TRANSIENT_SQLSTATES.has(code)) return 'transient'
    const systemKind = classifySystemConnectFailure(error)
    if (systemKind !== undefined) return systemKind
    // pg's own wording when the server closes the socket during startup
    // (e.g. it is restarting) or pg's connectionTimeoutMillis fires.
    if (/^Connection terminated|timeout expired/i.test(error.message)) return 'transient'
    return 'fatal'
  }
}

function describeTarget(config: pg.ClientConfig): string {
  if (config.connectionString !== undefined) return redactUrl(config.connectionString)
  const user = config.user ?? process.env.PGUSER ?? ''
  const host = config.host ?? process.env.PGHOST ?? 'localhost'
  const port = config.port ?? (process.env.PGPORT !== undefined ? Number(process.env.PGPORT) : 5432)
  const database = config.database ?? process.env.PGDATABASE ?? user
  return formatTarget('postgres', {
    user,
    host: host.startsWith('/') ? encodeURIComponent(host) : host,
    port,
    database,
  })
}
