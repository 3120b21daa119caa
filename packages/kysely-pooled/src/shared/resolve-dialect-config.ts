import {
  createPool,
  PoolConfigError,
  resolvePoolOptions,
  type Connector,
  type Pool,
  type PoolOptions,
} from '@kysely-pooled/core'
import {
  DEFAULT_DESTROY_GRACE_MILLIS,
  type ConnectionHook,
  type PooledDialectConfigBase,
  type PoolFactory,
} from './pooled-dialect-config.js'
import { topologyProblems, makeTopology, type ReplicaConfig } from '../replicas/replica-config.js'
import type { StatusProbe } from '../replicas/server-status.js'
import type { Topology } from '../replicas/topology.js'

/** How one dialect describes itself to the shared config validation. */
export interface DialectDescription<C, Connection, Config> {
  /** `PooledPostgresDialect`, used in messages. */
  readonly dialectName: string
  /** The connector dialect a shared pool must have (`'postgres'`, `'mysql'`). */
  readonly connectorDialect: string
  /** What `connection` may be, for messages: `a 'postgres://…' URL or a pg ClientConfig`. */
  readonly connectionHint: string
  /** Keys the dialect's config accepts on top of the common ones. */
  readonly extraKeys: readonly string[]
  /** Problems with the dialect's own extra keys. */
  readonly checkExtras?: (config: Record<string, unknown>, problems: string[]) => void
  /** The whole (validated) config is passed so that connector options among the extra keys reach the connector. */
  readonly createConnector: (connection: Connection, config: Config) => Connector<C>
  /** The server's port when a connection names none (replica and failover server names). */
  readonly defaultPort: number
  /** How a background check asks a server for its role and position (replicas, failover). */
  readonly statusProbe: StatusProbe<C, unknown>
}

/** Where the dialect's pools come from. */
export type PoolSource<C> =
  | { readonly kind: 'options'; readonly options: PoolOptions | undefined }
  | { readonly kind: 'shared'; readonly pool: Pool<C> }
  | { readonly kind: 'factory'; readonly factory: PoolFactory<C> }

/** A validated dialect config. */
export interface ResolvedDialectConfig<C> {
  readonly dialectName: string
  readonly source: PoolSource<C>
  readonly destroyGraceMillis: number
  readonly onCreateConnection: ConnectionHook | undefined
  readonly onReserveConnection: ConnectionHook | undefined
  /**
   * Makes a pool the dialect owns from pool options, or takes over a `Pool`
   * a factory returned, validated like the config; throws `PoolConfigError`.
   */
  readonly makePool: (value: unknown, name: string | undefined) => Pool<C>
  /** With `replicas` or `connection` as an array: makes the servers' pools (from the config's pool options). */
  readonly makeTopology: (() => Topology<C>) | undefined
}

const COMMON_KEYS = [
  'connection',
  'pool',
  'onCreateConnection',
  'onReserveConnection',
  'destroyGraceMillis',
  'statementTimeoutMillis',
  'replicas',
  'maxReplicaLagMillis',
  'readYourWritesMillis',
]
const POOL_OPTION_HINT = new Set(['min', 'max', 'acquireTimeoutMillis', 'idleTimeoutMillis', 'maxLifetimeMillis'])

/**
 * Validates a dialect config. Every problem — the dialect's own and the
 * pool options' — is reported at once, in one `PoolConfigError`.
 */
export function resolveDialectConfig<C, Connection, Config extends PooledDialectConfigBase<C>>(
  config: Config & { readonly connection?: Connection },
  description: DialectDescription<C, Connection, Config>,
): ResolvedDialectConfig<C> {
  const { dialectName } = description
  if (config === null || typeof config !== 'object') {
    throw new PoolConfigError([`${dialectName}: the config must be an object, got ${describeKind(config)}`])
  }
  const record = config as unknown as Record<string, unknown>
  const problems: string[] = []
  const known = new Set([...COMMON_KEYS, ...description.extraKeys])
  for (const key of Object.keys(record)) {
    if (POOL_OPTION_HINT.has(key)) {
      problems.push(`unknown option "${key}": pool options go under \`pool\`, e.g. pool: { ${key}: … }`)
    } else if (!known.has(key)) {
      problems.push(`unknown option "${key}" (known: ${[...known].join(', ')})`)
    }
  }

  let source: PoolSource<C>
  if (typeof config.pool === 'function') {
    source = { kind: 'factory', factory: config.pool as PoolFactory<C> }
    // The factory may return a Pool, which needs no connection: check it only when given.
    if (config.connection !== undefined) {
      checkConnection(config.connection, description.connectionHint, problems)
    }
  } else if (isPool(config.pool)) {
    source = { kind: 'shared', pool: config.pool as Pool<C> }
    checkPool(source.pool, description, problems, 'pool')
  } else {
    source = { kind: 'options', options: config.pool as PoolOptions | undefined }
    checkPoolOptions(config.pool, problems)
    if (!Array.isArray(config.connection)) checkConnection(config.connection, description.connectionHint, problems)
  }
  const replicaConfig = config as unknown as ReplicaConfig
  const topologyFound = topologyProblems(replicaConfig, description.defaultPort, source.kind === 'options')
  problems.push(...topologyFound.problems)
  for (const entry of topologyFound.connections) checkConnection(entry, description.connectionHint, problems)
  for (const hook of ['onCreateConnection', 'onReserveConnection'] as const) {
    if (config[hook] !== undefined && typeof config[hook] !== 'function') {
      problems.push(`${hook} must be a function, got ${describeKind(config[hook])}`)
    }
  }
  const grace = config.destroyGraceMillis ?? DEFAULT_DESTROY_GRACE_MILLIS
  if (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0) {
    problems.push(`destroyGraceMillis must be an integer >= 0, got ${describeKind(grace)}`)
  }
  description.checkExtras?.(record, problems)
  throwIfAny(dialectName, problems)

  const makePool = (value: unknown, name: string | undefined): Pool<C> => {
    const found: string[] = []
    if (isPool(value)) {
      const pool = value as Pool<C>
      checkPool(pool, description, found, 'the pool factory returned')
      if (found.length > 0 && !pool.closed) {
        // The factory's pool is the dialect's, even when unusable: nobody else will close it.
        void pool.destroy()
      }
      throwIfAny(dialectName, found)
      return pool
    }
    checkPoolOptions(value, found)
    if (config.connection === undefined) {
      found.push(`connection is required (${description.connectionHint}) when the pool factory returns pool options`)
    }
    throwIfAny(dialectName, found)
    const options = value as PoolOptions | undefined
    // Every pool of the dialect carries the same name, for stats and metrics.
    const named = name !== undefined && options?.name === undefined ? { ...options, name } : options
    return createPool(description.createConnector(config.connection as Connection, config), named)
  }

  const createConnector = (connection: unknown) => description.createConnector(connection as Connection, config)
  return Object.freeze({
    dialectName,
    source,
    makeTopology: topologyFound.used
      ? () =>
          makeTopology(replicaConfig, {
            options: config.pool as PoolOptions | undefined,
            dialect: description.connectorDialect,
            defaultPort: description.defaultPort,
            probe: description.statusProbe,
            makePool: (connection, options) => createPool(createConnector(connection), options),
          })
      : undefined,
    destroyGraceMillis: grace,
    onCreateConnection: config.onCreateConnection,
    onReserveConnection: config.onReserveConnection,
    makePool,
  })
}

function throwIfAny(dialectName: string, problems: string[]): void {
  if (problems.length > 0) {
    throw new PoolConfigError(problems.map((problem) => `${dialectName}: ${problem}`))
  }
}

/**
 * A core pool, recognised by shape rather than `instanceof` so that two
 * copies of `@kysely-pooled/core` in one install still work together.
 */
function isPool(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Pool<unknown>).acquire === 'function' &&
    typeof (value as Pool<unknown>).stats === 'function' &&
    typeof (value as Pool<unknown>).connector === 'object'
  )
}

function checkPool<C>(
  pool: Pool<C>,
  { dialectName, connectorDialect }: { dialectName: string; connectorDialect: string },
  problems: string[],
  what: string,
): void {
  if (pool.connector.dialect !== connectorDialect) {
    problems.push(`${what} is a "${pool.connector.dialect}" pool; ${dialectName} needs a "${connectorDialect}" one`)
  }
  if (pool.closed) {
    problems.push(
      `${what} is a destroyed pool${what === 'pool' ? '' : ': a pool factory must return a new Pool on each call (to share one pool, pass it as `pool` itself)'}`,
    )
  }
}

/** The dialect's checks of pool options, then the core's own (`resolvePoolOptions`), merged. */
function checkPoolOptions(pool: unknown, problems: string[]): void {
  if (pool === undefined) {
    return
  }
  if (pool === null || typeof pool !== 'object' || Array.isArray(pool)) {
    problems.push(`pool must be pool options, a core Pool or a function returning either, got ${describeKind(pool)}`)
    return
  }
  const candidate = pool as Record<string, unknown>
  if (typeof candidate.connect === 'function' || typeof candidate.getConnection === 'function') {
    // The one-line swap from the stock dialects most likely leaves a pg/mysql2 pool here.
    problems.push(
      'pool looks like a pg/mysql2 pool; this dialect makes its own pool: pass the connection settings as `connection` and pool options (e.g. { max: 10 }) as `pool`',
    )
    return
  }
  try {
    // Named, so that validating does not use up a generated pool name.
    resolvePoolOptions({ name: 'validation', ...(pool as PoolOptions) })
  } catch (error) {
    if (!(error instanceof PoolConfigError)) {
      throw error
    }
    problems.push(...error.problems.map((problem) => `pool: ${problem}`))
  }
}

function checkConnection(connection: unknown, hint: string, problems: string[]): void {
  if (connection === undefined || connection === null) {
    problems.push(`connection is required (${hint}) unless pool is an existing core Pool`)
  } else if (typeof connection === 'string') {
    if (connection.trim() === '') {
      problems.push(`connection must not be an empty string (${hint})`)
    }
  } else if (typeof connection !== 'object' || Array.isArray(connection)) {
    problems.push(`connection must be ${hint}, got ${describeKind(connection)}`)
  }
}

/** A value for a message: never the value of a string that might be a URL with a password. */
function describeKind(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') {
    return String(value)
  }
  if (Array.isArray(value)) {
    return 'an array'
  }
  return typeof value === 'string' ? 'a string' : typeof value
}
