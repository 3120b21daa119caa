import { mysqlConnector } from '@kysely-pooled/core'
import { mysqlStatusProbe, type StatusProbe } from '../replicas/server-status.js'
import { MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler, type Driver } from 'kysely'
import type { MysqlConnection as Connection, MysqlConnectionOptions as ConnectionOptions } from '@kysely-pooled/core'
import { PooledDialect } from '../shared/pooled-dialect.js'
import { resolveDialectConfig } from '../shared/resolve-dialect-config.js'
import type { PooledMysqlDialectConfig } from './pooled-mysql-dialect-config.js'
import { PooledMysqlDriver } from './pooled-mysql-driver.js'

/**
 * Kysely's `MysqlDialect` (MySQL and MariaDB) on the `@kysely-pooled/core` pool.
 *
 * ```ts
 * new Kysely<DB>({
 *   dialect: new PooledMysqlDialect({
 *     connection: 'mysql://app@127.0.0.1:3306/app',
 *     pool: { max: 10, acquireTimeoutMillis: 5_000 },
 *   }),
 * })
 * ```
 */
export class PooledMysqlDialect extends PooledDialect<Connection> {
  constructor(config: PooledMysqlDialectConfig) {
    const resolved = resolveDialectConfig<Connection, string | ConnectionOptions, PooledMysqlDialectConfig>(config, {
      dialectName: 'PooledMysqlDialect',
      defaultPort: 3306,
      statusProbe: mysqlStatusProbe as StatusProbe<Connection, unknown>,
      connectorDialect: 'mysql',
      connectionHint: "a 'mysql://…' URL or mysql2 ConnectionOptions",
      extraKeys: [],
      createConnector: (connection) =>
        mysqlConnector(connection, { statementTimeoutMillis: config.statementTimeoutMillis }),
    })
    super(resolved, { QueryCompiler: MysqlQueryCompiler, Adapter: MysqlAdapter, Introspector: MysqlIntrospector })
  }

  createDriver(): Driver {
    return new PooledMysqlDriver(this.driverSettings)
  }
}
