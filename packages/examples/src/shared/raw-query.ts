import type { Connection as MysqlConnection } from 'mysql2'
import type pg from 'pg'
import type { ExampleDialect } from './databases.js'

/**
 * Runs one statement on a bare driver connection (a pg `Client` or a
 * callback-API mysql2 `Connection`), as `pool.use()` hands them out.
 */
export async function rawQuery<Row = Record<string, unknown>>(
  dialect: ExampleDialect,
  connection: unknown,
  text: string,
): Promise<Row[]> {
  if (dialect === 'postgres') {
    const result = await (connection as pg.Client).query(text)
    return result.rows as Row[]
  }
  return new Promise((resolve, reject) => {
    ;(connection as MysqlConnection).query(text, (error, rows) => {
      if (error) reject(error)
      else resolve((Array.isArray(rows) ? rows : []) as Row[])
    })
  })
}
