import { PoolConfigError } from '../errors/pool-config-error.js'

/**
 * What sits between the pool and PostgreSQL.
 *
 * - `none`: the server itself.
 * - `session`: a pooler in session mode (PgBouncer `pool_mode = session`):
 *   one server connection per client connection, so everything behaves as
 *   with `none`.
 * - `transaction`: a pooler in transaction mode (PgBouncer, Supavisor, RDS
 *   Proxy, pgcat): each transaction may run on another server connection.
 *   Statements that would leave session state are refused before they are
 *   sent (`SessionStateError`), no `DISCARD ALL` / `DEALLOCATE` is ever sent,
 *   and named prepared statements are refused unless `preparedStatements`.
 */
export type PoolerMode = 'none' | 'session' | 'transaction'

export type PoolerOption =
  | PoolerMode
  | {
      readonly mode: PoolerMode
      /**
       * The pooler tracks protocol-level named prepared statements (PgBouncer
       * >= 1.21 with `max_prepared_statements` > 0), so pg's `{ name }`
       * queries are allowed under `'transaction'`. Default false.
       */
      readonly preparedStatements?: boolean
    }

export interface PoolerSettings {
  readonly mode: PoolerMode
  readonly preparedStatements: boolean
}

const MODES: readonly PoolerMode[] = ['none', 'session', 'transaction']

/** The problem with a `pooler` value, or `undefined` when it is valid. */
export function poolerProblem(value: unknown): string | undefined {
  const expected = `pooler must be 'none', 'session', 'transaction' or { mode, preparedStatements }`
  if (value === undefined) return undefined
  if (typeof value === 'string') return MODES.includes(value as PoolerMode) ? undefined : `${expected}, got '${value}'`
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return `${expected}, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`
  const { mode, preparedStatements, ...rest } = value as Record<string, unknown>
  const unknown = Object.keys(rest)
  if (unknown.length > 0)
    return `pooler: unknown key(s) ${unknown.map((key) => `"${key}"`).join(', ')} (known: mode, preparedStatements)`
  if (typeof mode !== 'string' || !MODES.includes(mode as PoolerMode))
    return `pooler.mode must be 'none', 'session' or 'transaction', got ${typeof mode === 'string' ? `'${mode}'` : String(mode)}`
  if (preparedStatements !== undefined && typeof preparedStatements !== 'boolean')
    return `pooler.preparedStatements must be a boolean, got ${typeof preparedStatements}`
  return undefined
}

/** Validates and freezes a `pooler` option; throws `PoolConfigError` when invalid. */
export function resolvePooler(value: PoolerOption | undefined): PoolerSettings {
  const problem = poolerProblem(value)
  if (problem !== undefined) throw new PoolConfigError([problem])
  if (value === undefined) return Object.freeze({ mode: 'none', preparedStatements: false })
  if (typeof value === 'string') return Object.freeze({ mode: value, preparedStatements: false })
  return Object.freeze({ mode: value.mode, preparedStatements: value.preparedStatements ?? false })
}
