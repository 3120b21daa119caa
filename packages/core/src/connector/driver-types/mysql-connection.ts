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

/** mysql2's TLS options (`ssl`), for editors to suggest. */
export interface MysqlSslOptions {
  readonly ca?: string | string[] | Buffer | Buffer[] | undefined
  readonly cert?: string | string[] | Buffer | Buffer[] | undefined
  readonly key?: string | string[] | Buffer | Buffer[] | undefined
  readonly pfx?: string | undefined
  readonly passphrase?: string | undefined
  readonly crl?: string | string[] | undefined
  readonly ciphers?: string | undefined
  readonly rejectUnauthorized?: boolean | undefined
  readonly minVersion?: string | undefined
  readonly maxVersion?: string | undefined
  readonly verifyIdentity?: boolean | undefined
}

/** The column a `typeCast` function is asked about (mysql2's `Field`, the parts most casts read). */
export interface MysqlTypeCastField {
  readonly type: string
  readonly length: number
  readonly db: string
  readonly table: string
  readonly name: string
  string(encoding?: string): string | null
  buffer(): Buffer | null
}

/**
 * mysql2's `typeCast` function. Declared as a method so that a function
 * written against mysql2's own `Field` type (all of ours and more) fits too.
 */
export type MysqlTypeCast = {
  typeCast(field: MysqlTypeCastField, next: () => unknown): unknown
}['typeCast']

/**
 * Where and how to connect (mysql2's `ConnectionOptions`). A value typed
 * `mysql2.ConnectionOptions` fits, under `strict` with or without
 * `exactOptionalPropertyTypes`.
 */
export interface MysqlConnectionOptions {
  readonly uri?: string | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly socketPath?: string | undefined
  readonly localAddress?: string | undefined
  readonly user?: string | undefined
  readonly password?: string | undefined
  readonly database?: string | undefined
  readonly charset?: string | undefined
  readonly timezone?: string | undefined
  /** A profile name (e.g. `'Amazon RDS'`) or TLS options. */
  readonly ssl?: string | MysqlSslOptions | undefined
  readonly connectTimeout?: number | undefined
  readonly enableKeepAlive?: boolean | undefined
  readonly keepAliveInitialDelay?: number | undefined
  readonly multipleStatements?: boolean | undefined
  readonly supportBigNumbers?: boolean | undefined
  readonly bigNumberStrings?: boolean | undefined
  readonly dateStrings?: boolean | Array<'TIMESTAMP' | 'DATETIME' | 'DATE'> | undefined
  readonly decimalNumbers?: boolean | undefined
  readonly jsonStrings?: boolean | undefined
  readonly namedPlaceholders?: boolean | undefined
  readonly rowsAsArray?: boolean | undefined
  readonly nestTables?: boolean | string | undefined
  readonly stringifyObjects?: boolean | undefined
  readonly insecureAuth?: boolean | undefined
  readonly compress?: boolean | undefined
  readonly trace?: boolean | undefined
  readonly maxPreparedStatements?: number | undefined
  readonly charsetNumber?: number | undefined
  readonly enableCleartextPlugin?: boolean | undefined
  readonly disableEval?: boolean | undefined
  readonly gracefulEnd?: boolean | undefined
  readonly flags?: string[] | undefined
  readonly typeCast?: boolean | MysqlTypeCast | undefined
}
