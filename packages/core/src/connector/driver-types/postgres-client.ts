// The parts of node-postgres (`pg`) that appear in this package's public
// types, declared here, as Kysely does, so that an application needs neither
// `@types/pg` nor, when it only uses MySQL, `pg` itself to type-check. A
// `pg.Client` and a `pg.ClientConfig` fit these; cast to `pg.Client` for the
// rest of its API.

/** A row as pg returns it by default: column name to value. */
export type PostgresRow = Record<string, unknown>

/** What `client.query()` resolves to (pg's `QueryResult`). */
export interface PostgresQueryResult<R extends object = PostgresRow> {
  readonly command: string
  readonly rowCount: number | null
  readonly rows: R[]
}

/** A query as an object (pg's `QueryConfig`). */
export interface PostgresQueryConfig {
  readonly text: string
  readonly values?: readonly unknown[]
  /** Prepares the statement under this name. */
  readonly name?: string
}

/** A connected pg `Client`, as a lease hands it out. */
export interface PostgresClient {
  query<R extends object = PostgresRow>(text: string, values?: readonly unknown[]): Promise<PostgresQueryResult<R>>
  query<R extends object = PostgresRow>(config: PostgresQueryConfig): Promise<PostgresQueryResult<R>>
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'notice', listener: (notice: Error) => void): unknown
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown
  on(event: 'end', listener: () => void): unknown
}

/** Where and how to connect (pg's `ClientConfig`; pg reads `PG*` variables for what is left out). */
export interface PostgresClientConfig {
  readonly connectionString?: string
  readonly host?: string
  readonly port?: number
  readonly user?: string
  readonly password?: string | (() => string | Promise<string>)
  readonly database?: string
  readonly ssl?: boolean | object
  readonly application_name?: string
  readonly options?: string
  readonly statement_timeout?: number | false
  readonly query_timeout?: number
  readonly lock_timeout?: number
  readonly idle_in_transaction_session_timeout?: number
  readonly connectionTimeoutMillis?: number
  readonly keepAlive?: boolean
  readonly keepAliveInitialDelayMillis?: number
  /** Custom type parsers (pg's `CustomTypesConfig`). */
  readonly types?: { getTypeParser(oid: number, format?: 'text' | 'binary'): unknown }
  readonly client_encoding?: string
  readonly fallback_application_name?: string
}
