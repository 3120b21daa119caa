import type { Lease } from '@kysely-pooled/core'
import { CompiledQuery, type DatabaseConnection, type TransactionSettings } from 'kysely'
import type { MysqlConnection as Connection } from '@kysely-pooled/core'
import type { LeaseConnection } from '../shared/lease-connection.js'
import { PooledDriver } from '../shared/pooled-driver.js'
import { PooledMysqlConnection } from './pooled-mysql-connection.js'

/** Kysely `Driver` for MySQL and MariaDB on the core pool. SQL as Kysely's stock `MysqlDriver`. */
export class PooledMysqlDriver extends PooledDriver<Connection> {
  protected readonly releaseSavepointCommand = 'release savepoint'

  protected createConnection(lease: Lease<Connection>): LeaseConnection<Connection> {
    return new PooledMysqlConnection(lease)
  }

  protected async begin(connection: LeaseConnection<Connection>, settings: TransactionSettings): Promise<void> {
    if (settings.isolationLevel || settings.accessMode) {
      const parts: string[] = []
      if (settings.isolationLevel) {
        parts.push(`isolation level ${settings.isolationLevel}`)
      }
      if (settings.accessMode) {
        parts.push(settings.accessMode)
      }
      // On MySQL this sets the characteristics of the next transaction only.
      await connection.executeQuery(CompiledQuery.raw(`set transaction ${parts.join(', ')}`))
    }
    await connection.executeQuery(CompiledQuery.raw('begin'))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('commit'))
    } catch (error) {
      await this.giveBackAfterFailedCommit(connection)
      throw error
    }
  }
}
