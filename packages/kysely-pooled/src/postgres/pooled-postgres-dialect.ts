import { poolerProblem, postgresConnector } from '@kysely-pooled/core'
import { postgresStatusProbe, type StatusProbe } from '../replicas/server-status.js'
import { PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type Driver } from 'kysely'
import type { PostgresClient as Client, PostgresClientConfig as ClientConfig } from '@kysely-pooled/core'
import { PooledDialect } from '../shared/pooled-dialect.js'
import { resolveDialectConfig } from '../shared/resolve-dialect-config.js'
import type { PooledPostgresDialectConfig } from './pooled-postgres-dialect-config.js'
import { PooledPostgresDriver } from './pooled-postgres-driver.js'
import { pipelineProblems } from './pipeline-problems.js'

/**
 * Kysely's `PostgresDialect` on the `@kysely-pooled/core` pool.
 *
 * ```ts
 * new Kysely<DB>({
 *   dialect: new PooledPostgresDialect({
 *     connection: 'postgres://app@127.0.0.1:5432/app',
 *     pool: { max: 10, acquireTimeoutMillis: 5_000 },
 *   }),
 * })
 * ```
 */
export class PooledPostgresDialect extends PooledDialect<Client> {
  readonly #config: PooledPostgresDialectConfig

  constructor(config: PooledPostgresDialectConfig) {
    const resolved = resolveDialectConfig<Client, string | ClientConfig, PooledPostgresDialectConfig>(config, {
      dialectName: 'PooledPostgresDialect',
      defaultPort: 5432,
      statusProbe: postgresStatusProbe as StatusProbe<Client, unknown>,
      connectorDialect: 'postgres',
      connectionHint: "a 'postgres://…' URL or a pg ClientConfig",
      extraKeys: ['cursor', 'pooler', 'pipeline'],
      checkExtras: (raw, problems) => {
        if (raw.cursor !== undefined && typeof raw.cursor !== 'function') {
          problems.push("cursor must be the pg-cursor class (import Cursor from 'pg-cursor')")
        }
        const pooler = poolerProblem(raw.pooler)
        if (pooler !== undefined) problems.push(pooler)
        problems.push(...pipelineProblems(raw))
        if (raw.pipeline === true && (raw.replicas !== undefined || Array.isArray(raw.connection))) {
          // not yet: pipelined statements would share the first server's connections only
          problems.push('pipeline: true does not combine with replicas or connection as an array (yet)')
        }
      },
      createConnector: (connection) =>
        postgresConnector(connection, { pooler: config.pooler, statementTimeoutMillis: config.statementTimeoutMillis }),
    })
    super(resolved, {
      QueryCompiler: PostgresQueryCompiler,
      Adapter: PostgresAdapter,
      Introspector: PostgresIntrospector,
    })
    this.#config = Object.freeze({ ...config })
  }

  createDriver(): Driver {
    return new PooledPostgresDriver(this.driverSettings, this.#config.cursor, this.#config.pipeline === true)
  }
}
