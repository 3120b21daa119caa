import type { PoolerOption, PostgresClient as Client, PostgresClientConfig as ClientConfig } from '@kysely-pooled/core'
import type { PooledDialectConfigBase } from '../shared/pooled-dialect-config.js'

/**
 * Config of {@link PooledPostgresDialect}. `connection` and `pool` replace the
 * stock dialect's `pool: new pg.Pool(…)`; the hooks and `cursor` are the
 * stock ones.
 */
export interface PooledPostgresDialectConfig extends PooledDialectConfigBase<Client> {
  /** A `postgres://…` URL or a pg `ClientConfig`. Ignored when `pool` is an existing core Pool. */
  readonly connection?: string | ClientConfig
  /**
   * The `pg-cursor` class, needed for `.stream()`:
   * `import Cursor from 'pg-cursor'` then `cursor: Cursor`.
   * @default none (no streaming)
   */
  readonly cursor?: PostgresCursorConstructor
  /**
   * What sits between the app and PostgreSQL: `'none'` (default),
   * `'session'`, `'transaction'` (PgBouncer/Supavisor/RDS Proxy in transaction
   * mode: session state is refused with `SessionStateError`, no `DISCARD ALL`
   * is sent), or `{ mode, preparedStatements }`. Passed to `postgresConnector`;
   * ignored when `pool` is an existing core Pool (set it on that pool's connector).
   * @default 'none'
   */
  readonly pooler?: PoolerOption
}

/** The part of `pg-cursor` the dialect uses (typed here so `pg-cursor` stays optional). */
export interface PostgresCursor<T> {
  read(rowsCount: number): Promise<T[]>
  close(): Promise<void>
}

export type PostgresCursorConstructor = new <T>(sql: string, parameters: unknown[]) => PostgresCursor<T>
