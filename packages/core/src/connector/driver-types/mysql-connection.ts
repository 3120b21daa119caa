// The parts of mysql2 that appear in this package's public types, declared
// here, as Kysely does, so that a PostgreSQL-only application type-checks
// without mysql2 installed. A mysql2 callback-API `Connection` and its
// `ConnectionOptions` fit these; cast to `mysql2.Connection` for the rest.

import type { Readable } from 'node:stream'

/** A running mysql2 query, as `connection.query(sql, values)` returns it without a callback. */
export interface MysqlQuery {
  on(event: 'end', listener: () => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  off(event: 'end' | 'error', listener: (error?: Error) => void): unknown
  /** The result rows as an object-mode stream. */
  stream(options?: { readonly objectMode?: boolean; readonly highWaterMark?: number }): Readable
}

/** A mysql2 callback-API `Connection` (what Kysely's `MysqlDialect` uses), as a lease hands it out. */
export interface MysqlConnection {
  /** The server's id of this session (`CONNECTION_ID()`). */
  readonly threadId: number | null
  query(sql: string, callback: (error: Error | null, result: unknown) => void): unknown
  query(sql: string, values: unknown[], callback: (error: Error | null, result: unknown) => void): unknown
  query(sql: string, values: unknown[]): MysqlQuery
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'end', listener: () => void): unknown
  off(event: 'error' | 'end', listener: (error?: Error) => void): unknown
}

/** Where and how to connect (mysql2's `ConnectionOptions`). */
export interface MysqlConnectionOptions {
  readonly uri?: string
  readonly host?: string
  readonly port?: number
  readonly socketPath?: string
  readonly user?: string
  readonly password?: string
  readonly database?: string
  readonly charset?: string
  readonly timezone?: string
  readonly ssl?: string | object
  readonly connectTimeout?: number
  readonly enableKeepAlive?: boolean
  readonly keepAliveInitialDelay?: number
  readonly multipleStatements?: boolean
  readonly supportBigNumbers?: boolean
  readonly bigNumberStrings?: boolean
  readonly dateStrings?: boolean | Array<'TIMESTAMP' | 'DATETIME' | 'DATE'>
  readonly decimalNumbers?: boolean
  readonly namedPlaceholders?: boolean
  readonly flags?: string[]
  readonly typeCast?: boolean | ((field: unknown, next: () => unknown) => unknown)
}
