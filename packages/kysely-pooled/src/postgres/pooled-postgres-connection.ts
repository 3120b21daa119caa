import type { Lease } from '@kysely-pooled/core'
import type { CompiledQuery, QueryResult } from 'kysely'
import type { PostgresClient as Client, PostgresQueryResult as PgQueryResult } from '@kysely-pooled/core'
import { extendStackTrace } from '../shared/extend-stack-trace.js'
import { LeaseConnection } from '../shared/lease-connection.js'
import { toKyselyResult } from './postgres-result.js'
import type { PostgresCursorConstructor } from './pooled-postgres-dialect-config.js'

/** A Kysely connection on a leased pg `Client`. Result mapping as Kysely's stock `PostgresConnection`. */
export class PooledPostgresConnection extends LeaseConnection<Client> {
  readonly #cursor: PostgresCursorConstructor | undefined

  constructor(lease: Lease<Client>, cursor: PostgresCursorConstructor | undefined) {
    super(lease)
    this.#cursor = cursor
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    // The per-query path: nothing here allocates beyond the result, like the
    // stock driver. pg does not mutate `values`, so the parameters go as they are.
    this.queryStarted()
    try {
      const result: PgQueryResult = await this.client.query(compiledQuery.sql, compiledQuery.parameters as unknown[])
      return toKyselyResult<R>(result)
    } catch (error) {
      throw extendStackTrace(error, new Error())
    } finally {
      this.queryEnded()
    }
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    if (!this.#cursor) {
      throw new Error(
        "`cursor` is not present in your PooledPostgresDialect config. It's required to make streaming work in postgres: `import Cursor from 'pg-cursor'` and pass `cursor: Cursor`.",
      )
    }
    if (chunkSize === undefined || !Number.isInteger(chunkSize) || chunkSize <= 0) {
      throw new Error('chunkSize must be a positive integer')
    }
    // pg submits anything with a `submit` method; its typings only know pg's own cursor type.
    const client = this.client as unknown as SubmittingClient
    const cursor = client.query(new this.#cursor<R>(compiledQuery.sql, [...compiledQuery.parameters]))
    this.queryStarted()
    try {
      while (true) {
        const rows = await cursor.read(chunkSize)
        if (rows.length === 0) {
          break
        }
        yield { rows }
      }
    } finally {
      // Also on `break`: closing the portal is what makes the connection
      // ready for the next query, so it is released clean.
      try {
        await cursor.close()
      } finally {
        this.queryEnded()
      }
    }
  }
}

interface SubmittingClient {
  query<T>(submittable: T): T
}
