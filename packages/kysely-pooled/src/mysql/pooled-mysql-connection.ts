import type { CompiledQuery, QueryResult } from 'kysely'
import type { MysqlConnection as Connection } from '@kysely-pooled/core'
import { extendStackTrace } from '../shared/extend-stack-trace.js'
import { nameMariadbError } from './mariadb-error-code.js'
import { LeaseConnection } from '../shared/lease-connection.js'
import { MysqlRowStream } from './mysql-row-stream.js'

interface MysqlOkPacket {
  readonly insertId?: number | string | bigint | null
  readonly affectedRows?: number | string | bigint | null
  readonly changedRows?: number | string | bigint | null
}

/** A Kysely connection on a leased mysql2 `Connection`. Result mapping as Kysely's stock `MysqlConnection`. */
export class PooledMysqlConnection extends LeaseConnection<Connection> {
  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    // The per-query path: as the stock driver, plus the in-flight count.
    this.queryStarted()
    try {
      const result = await this.#query(compiledQuery)
      if (!isOkPacket(result)) {
        return { rows: (Array.isArray(result) ? result : []) as R[] }
      }
      const { insertId, affectedRows, changedRows } = result
      return {
        insertId: insertId != null && insertId.toString() !== '0' ? BigInt(insertId) : undefined,
        numAffectedRows: affectedRows != null ? BigInt(affectedRows) : undefined,
        numChangedRows: changedRows != null ? BigInt(changedRows) : undefined,
        rows: [],
      }
    } catch (error) {
      nameMariadbError(error)
      throw extendStackTrace(error, new Error())
    } finally {
      this.queryEnded()
    }
  }

  /**
   * Streams with mysql2's `query().stream()` like the stock driver, but yields
   * `chunkSize` rows at a time (the stock driver yields one row per chunk; the
   * rows Kysely's `.stream()` hands out are the same).
   */
  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize = 1): AsyncIterableIterator<QueryResult<R>> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
      throw new Error('chunkSize must be a positive integer')
    }
    const stream = new MysqlRowStream(this.client, compiledQuery.sql, compiledQuery.parameters, chunkSize)
    this.queryStarted()
    try {
      let rows: R[] = []
      for await (const row of stream.rows) {
        rows.push(row as R)
        if (rows.length >= chunkSize) {
          yield { rows }
          rows = []
        }
      }
      if (rows.length > 0) {
        yield { rows }
      }
    } catch (error) {
      // As the stock driver: mysql2 can close the stream early at the end of a result.
      if ((error as { code?: unknown } | null)?.code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        nameMariadbError(error)
        throw extendStackTrace(error, new Error())
      }
    } finally {
      stream.rows.destroy()
      try {
        await stream.settled
      } finally {
        this.queryEnded()
      }
    }
  }

  #query(compiledQuery: CompiledQuery): Promise<unknown> {
    const connection = this.client
    // mysql2 does not mutate `values`; the stock driver passes them as they are too.
    return new Promise((resolve, reject) => {
      connection.query(compiledQuery.sql, compiledQuery.parameters as unknown[], (error, result) => {
        if (error) {
          reject(error)
        } else {
          resolve(result)
        }
      })
    })
  }
}

function isOkPacket(value: unknown): value is MysqlOkPacket {
  return typeof value === 'object' && value !== null && 'insertId' in value && 'affectedRows' in value
}
