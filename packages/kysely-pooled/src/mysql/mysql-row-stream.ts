import type { MysqlConnection as Connection } from '@kysely-pooled/core'
import type { Readable } from 'node:stream'

type Query = ReturnType<Connection['query']>

/**
 * One streamed mysql2 query, with the two guarantees the pool needs that a
 * bare `query().stream()` lacks:
 *
 * - `settled` resolves only once the server has finished the result, even when
 *   the consumer stopped early (mysql2 then reads and drops the rest): until
 *   then the connection is busy, and releasing it would hand a busy connection
 *   back to the pool.
 * - the rows end with an error when the connection dies mid-result, instead of
 *   waiting forever.
 */
export class MysqlRowStream {
  readonly rows: Readable
  readonly settled: Promise<void>

  constructor(connection: Connection, sql: string, parameters: readonly unknown[], highWaterMark: number) {
    const query: Query = connection.query(sql, [...parameters])
    this.settled = new Promise<void>((resolve) => {
      const lost = (error?: Error): void => {
        this.rows.destroy(error ?? new Error('the MySQL connection ended while rows were being streamed'))
        done()
      }
      const done = (): void => {
        query.off('end', done)
        connection.off('error', lost)
        connection.off('end', lost)
        resolve()
      }
      query.on('end', done)
      connection.on('error', lost)
      connection.on('end', lost)
    })
    // Once the consumer has closed the stream, mysql2 stops forwarding the
    // query's errors to it; without a listener of our own a late error (say,
    // the query was interrupted) would be thrown on the connection.
    query.on('error', () => {})
    this.rows = query.stream({ objectMode: true, highWaterMark })
  }
}
