import type { MysqlConnection as Connection, MysqlConnectionOptions as ConnectionOptions } from '@kysely-pooled/core'
import type { PooledDialectConfigBase } from '../shared/pooled-dialect-config.js'

/**
 * Config of {@link PooledMysqlDialect}. `connection` and `pool` replace the
 * stock dialect's `pool: mysql.createPool(…)`; the hooks are the stock ones.
 */
export interface PooledMysqlDialectConfig extends PooledDialectConfigBase<Connection> {
  /** A `mysql://…` URL or mysql2 `ConnectionOptions`. Ignored when `pool` is an existing core Pool. */
  readonly connection?: string | ConnectionOptions
}
