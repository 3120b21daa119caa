import { createPool, type Connector, type Pool, type PoolOptions } from '@kysely-pooled/core'
import type { PooledDriverSettings } from './pooled-driver.js'
import { DEFAULT_DESTROY_GRACE_MILLIS, type PooledDialectConfigBase } from './pooled-dialect-config.js'

/** How one dialect describes itself to the shared config validation. */
export interface DialectDescription<C, Connection> {
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
  readonly createConnector: (connection: Connection) => Connector<C>
}

const COMMON_KEYS = ['connection', 'pool', 'onCreateConnection', 'onReserveConnection', 'destroyGraceMillis']

/**
 * Validates a dialect config (every problem at once, like the pool options)
 * and makes the pool. Throws a `TypeError` for a bad dialect config and the
 * core `PoolConfigError` for bad pool options.
 */
export function resolveDialectConfig<C, Connection, Config extends PooledDialectConfigBase<C>>(
  config: Config & { readonly connection?: Connection },
  description: DialectDescription<C, Connection>,
): PooledDriverSettings<C> {
  const { dialectName } = description
  if (config === null || typeof config !== 'object') {
    throw new TypeError(`${dialectName}: the config must be an object, got ${describe(config)}.`)
  }
  const record = config as unknown as Record<string, unknown>
  const problems: string[] = []
  const known = new Set([...COMMON_KEYS, ...description.extraKeys])
  for (const key of Object.keys(record)) {
    if (!known.has(key)) {
      problems.push(`unknown option "${key}" (known: ${[...known].join(', ')})`)
    }
  }

  const sharedPool = isPool(config.pool) ? (config.pool as Pool<C>) : undefined
  if (sharedPool) {
    if (sharedPool.connector.dialect !== description.connectorDialect) {
      problems.push(
        `pool is a "${sharedPool.connector.dialect}" pool; ${dialectName} needs a "${description.connectorDialect}" one`,
      )
    }
  } else {
    checkPoolOptions(config.pool, problems)
    checkConnection(config.connection, description.connectionHint, problems)
  }
  for (const hook of ['onCreateConnection', 'onReserveConnection'] as const) {
    if (config[hook] !== undefined && typeof config[hook] !== 'function') {
      problems.push(`${hook} must be a function, got ${describe(config[hook])}`)
    }
  }
  const grace = config.destroyGraceMillis ?? DEFAULT_DESTROY_GRACE_MILLIS
  if (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0) {
    problems.push(`destroyGraceMillis must be an integer >= 0, got ${describe(grace)}`)
  }
  description.checkExtras?.(record, problems)

  if (problems.length > 0) {
    throw new TypeError(`${dialectName}: invalid config:\n  - ${problems.join('\n  - ')}`)
  }

  const pool =
    sharedPool ??
    createPool(description.createConnector(config.connection as Connection), config.pool as PoolOptions | undefined)
  return Object.freeze({
    pool,
    ownsPool: sharedPool === undefined,
    destroyGraceMillis: grace,
    onCreateConnection: config.onCreateConnection,
    onReserveConnection: config.onReserveConnection,
  })
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

function checkPoolOptions(pool: unknown, problems: string[]): void {
  if (pool === undefined) {
    return
  }
  if (pool === null || typeof pool !== 'object') {
    problems.push(`pool must be pool options or a core Pool, got ${describe(pool)}`)
    return
  }
  const candidate = pool as Record<string, unknown>
  if (typeof candidate.connect === 'function' || typeof candidate.getConnection === 'function') {
    // The one-line swap from the stock dialects most likely leaves a pg/mysql2 pool here.
    problems.push(
      'pool looks like a pg/mysql2 pool; this dialect makes its own pool: pass the connection settings as `connection` and pool options (e.g. { max: 10 }) as `pool`',
    )
  }
  // Everything else about the options is checked by the core pool (PoolConfigError).
}

function checkConnection(connection: unknown, hint: string, problems: string[]): void {
  if (connection === undefined || connection === null) {
    problems.push(`connection is required (${hint}) unless pool is an existing core Pool`)
  } else if (typeof connection === 'string') {
    if (connection.trim() === '') {
      problems.push(`connection must not be an empty string (${hint})`)
    }
  } else if (typeof connection !== 'object' || Array.isArray(connection)) {
    problems.push(`connection must be ${hint}, got ${describe(connection)}`)
  }
}

/** A value for a message: never the value of a string that might be a URL with a password. */
function describe(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') {
    return String(value)
  }
  if (Array.isArray(value)) {
    return 'an array'
  }
  return typeof value === 'string' ? 'a string' : typeof value
}
