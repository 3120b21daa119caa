import type { PoolerOption, PostgresClient as Client, PostgresClientConfig as ClientConfig } from '@kysely-pooled/core'
import type { PooledDialectConfigBase } from '../shared/pooled-dialect-config.js'

/**
 * Config of {@link PooledPostgresDialect}. `connection` and `pool` replace the
 * stock dialect's `pool: new pg.Pool(…)`; the hooks and `cursor` are the
 * stock ones.
 */
export interface PooledPostgresDialectConfig extends PooledDialectConfigBase<Client> {
  /**
   * A `postgres://…` URL or a pg `ClientConfig`. Ignored when `pool` is an
   * existing core Pool. An array lists candidate primaries, in order: writes
   * go to the one that accepts them, and move when it stops (failover).
   */
  readonly connection?: string | ClientConfig | readonly (string | ClientConfig)[]
  /**
   * Read-only servers (streaming standbys): plain reads outside a transaction go to the least busy healthy one.
   * @default [] (none)
   */
  readonly replicas?: readonly (string | ClientConfig)[]
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
  /**
   * `true`: a statement that needs no session of its own (the first on its
   * handle, outside a transaction, not session-changing, not streamed) runs
   * on a shared connection with other such statements in flight (pg's
   * pipeline mode), out of the same `max`; everything else gets an exclusive
   * connection as with `false`. See the README, "Pipelining".
   * @default false
   */
  readonly pipeline?: boolean
}

/** The part of `pg-cursor` the dialect uses (typed here so `pg-cursor` stays optional). */
export interface PostgresCursor<T> {
  read(rowsCount: number): Promise<T[]>
  close(): Promise<void>
}

export type PostgresCursorConstructor = new <T>(sql: string, parameters: unknown[]) => PostgresCursor<T>
