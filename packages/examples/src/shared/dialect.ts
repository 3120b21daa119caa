import type { Pool, PoolerOption, PoolOptions } from '@kysely-pooled/core'
import { Kysely } from 'kysely'
import { PooledMysqlDialect, PooledPostgresDialect } from 'kysely-pooled'
import type { ExampleDatabase } from './databases.js'

export interface PooledKysely<DB> {
  readonly db: Kysely<DB>
  /** The dialect's pool: stats, holders, events. */
  readonly pool: Pool<unknown>
}

/**
 * A typed Kysely on our dialect for the database. The only difference from
 * Kysely's stock setup is the dialect class and its `pool` options.
 */
export function createPooledKysely<DB>(
  database: ExampleDatabase,
  pool: PoolOptions = {},
  /** PostgreSQL only: what sits in front of the server (the cluster's PgBouncer variant). */
  pooler?: PoolerOption,
): PooledKysely<DB> {
  const dialect =
    database.dialect === 'postgres'
      ? new PooledPostgresDialect({ connection: database.url, pool, pooler })
      : new PooledMysqlDialect({ connection: database.url, pool })
  return { db: new Kysely<DB>({ dialect }), pool: dialect.pool as Pool<unknown> }
}
