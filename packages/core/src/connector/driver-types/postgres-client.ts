// The parts of node-postgres (`pg`) that appear in this package's public
// types, declared here, as Kysely does, so that an application needs neither
// `@types/pg` nor, when it only uses MySQL, `pg` itself to type-check. A
// `pg.Client` and a `pg.ClientConfig` fit these; cast to `pg.Client` for the
// rest of its API.

import type { Duplex } from 'node:stream'
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'

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

/**
 * Where and how to connect (pg's `ClientConfig`; pg reads `PG*` variables for
 * what is left out). A value typed `pg.ClientConfig` fits, under `strict`
 * with or without `exactOptionalPropertyTypes`.
 */
export interface PostgresClientConfig {
  readonly connectionString?: string | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly user?: string | undefined
  readonly password?: string | (() => string | Promise<string>) | undefined
  readonly database?: string | undefined
  /** `true`, or Node's TLS options (`ca`, `cert`, `key`, `servername`, `rejectUnauthorized`, …). */
  readonly ssl?: boolean | TlsConnectionOptions | undefined
  /** SCRAM channel binding (`SCRAM-SHA-256-PLUS`) over TLS. */
  readonly enableChannelBinding?: boolean | undefined
  /** `'direct'`: TLS from the first byte (PostgreSQL 17+), no SSLRequest round trip. */
  readonly sslnegotiation?: 'postgres' | 'direct' | undefined
  readonly application_name?: string | undefined
  readonly options?: string | undefined
  readonly statement_timeout?: number | false | undefined
  readonly query_timeout?: number | undefined
  readonly lock_timeout?: number | undefined
  readonly idle_in_transaction_session_timeout?: number | undefined
  readonly connectionTimeoutMillis?: number | undefined
  readonly keepAlive?: boolean | undefined
  readonly keepAliveInitialDelayMillis?: number | undefined
  /** Custom type parsers (pg's `CustomTypesConfig`). */
  readonly types?: { getTypeParser(oid: number, format?: 'text' | 'binary'): unknown } | undefined
  readonly client_encoding?: string | undefined
  readonly fallback_application_name?: string | undefined
  /** A custom socket (e.g. a Unix socket or a tunnel). */
  readonly stream?: (() => Duplex | undefined) | undefined
}
