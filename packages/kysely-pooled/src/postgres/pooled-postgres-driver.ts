import type { Lease, Pool } from '@kysely-pooled/core'
import * as kysely from 'kysely'
import { CompiledQuery, type DatabaseConnection, type QueryResult, type TransactionSettings } from 'kysely'
import type { PostgresClient as Client } from '@kysely-pooled/core'
import type { LeaseConnection } from '../shared/lease-connection.js'
import { PooledDriver, type PooledDriverSettings } from '../shared/pooled-driver.js'
import type { StatementRouter } from '../shared/statement-route.js'
import { DEFAULT_PIPELINE_DEPTH, PipelineDispatcher } from './pipeline-dispatcher.js'
import { pipelineRouter } from './pipeline-router.js'
import { PooledPostgresConnection } from './pooled-postgres-connection.js'
import type { PostgresCursorConstructor } from './pooled-postgres-dialect-config.js'

// Read through the namespace: a kysely 0.28 release older than this class
// lacks the export, and a named import would then fail to link.
const AbortedTransactionError = (kysely as Partial<Pick<typeof kysely, 'AbortedTransactionError'>>)
  .AbortedTransactionError

/** Kysely `Driver` for PostgreSQL on the core pool. SQL as Kysely's stock `PostgresDriver`. */
export class PooledPostgresDriver extends PooledDriver<Client> {
  readonly #cursor: PostgresCursorConstructor | undefined
  readonly #pipeline: boolean
  protected readonly releaseSavepointCommand = 'release'

  constructor(settings: PooledDriverSettings<Client>, cursor: PostgresCursorConstructor | undefined, pipeline = false) {
    super(settings)
    this.#cursor = cursor
    this.#pipeline = pipeline
  }

  protected override createRouter(pool: Pool<Client>): StatementRouter {
    // Connection hooks need a connection of the handle's own (onReserveConnection runs per acquire): no sharing then.
    if (!this.#pipeline || this.hasHooks) {
      return super.createRouter(pool)
    }
    return pipelineRouter(
      new PipelineDispatcher({
        pool,
        depth: DEFAULT_PIPELINE_DEPTH,
        exclusiveCount: () => this.exclusiveCount,
        bindsWaiting: () => this.bindsWaiting,
      }),
    )
  }

  protected createConnection(lease: Lease<Client>): LeaseConnection<Client> {
    return new PooledPostgresConnection(lease, this.#cursor)
  }

  protected async begin(connection: LeaseConnection<Client>, settings: TransactionSettings): Promise<void> {
    let sql = 'begin'
    if (settings.isolationLevel || settings.accessMode) {
      sql = 'start transaction'
      if (settings.isolationLevel) {
        sql += ` isolation level ${settings.isolationLevel}`
      }
      if (settings.accessMode) {
        sql += ` ${settings.accessMode}`
      }
    }
    await connection.executeQuery(CompiledQuery.raw(sql))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    let result: QueryResult<{ command?: string }>
    try {
      result = await connection.executeQuery<{ command?: string }>(CompiledQuery.raw('commit'))
    } catch (error) {
      await this.giveBackAfterFailedCommit(connection)
      throw error
    }
    const { rows } = result
    // PostgreSQL completes COMMIT with a ROLLBACK tag when an earlier error
    // left the transaction aborted: the caller must not believe it committed.
    if (rows[0]?.command === 'ROLLBACK' && AbortedTransactionError) {
      throw new AbortedTransactionError()
    }
  }
}
