import type { MysqlConnection as Connection, MysqlConnectionOptions as ConnectionOptions } from '@kysely-pooled/core'
import type { PooledDialectConfigBase } from '../shared/pooled-dialect-config.js'

/**
 * Config of {@link PooledMysqlDialect}. `connection` and `pool` replace the
 * stock dialect's `pool: mysql.createPool(…)`; the hooks are the stock ones.
 */
export interface PooledMysqlDialectConfig extends PooledDialectConfigBase<Connection> {
  /**
   * A `mysql://…` URL or mysql2 `ConnectionOptions`. Ignored when `pool` is
   * an existing core Pool. An array lists candidate primaries, in order:
   * writes go to the one with `@@read_only = 0`, and move when it stops.
   */
  readonly connection?: string | ConnectionOptions | readonly (string | ConnectionOptions)[]
  /**
   * Read-only replicas: plain reads outside a transaction go to the least busy healthy one.
   * @default [] (none)
   */
  readonly replicas?: readonly (string | ConnectionOptions)[]
}
