import type { Lease } from '@kysely-pooled/core'
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely'

/**
 * A Kysely `DatabaseConnection` backed by one pool `Lease`.
 *
 * A new one is made for every acquire (the stock drivers reuse one object per
 * physical connection). That is deliberate: a connection object that outlives
 * its lease — kept by a finished controlled transaction, say — then throws
 * `LeaseReleasedError` instead of running on whoever holds the physical
 * connection now; and nothing long-lived references the lease, so the pool can
 * reclaim a lease whose holder was garbage-collected.
 *
 * Every query goes through `lease.connection`, which throws
 * `LeaseRevokedError` once the pool has revoked the lease.
 *
 * Being made per acquire, it is kept as small as it can be: three fields, no
 * closures; subclasses count queries in flight inline in `executeQuery`
 * (`queryStarted` / `queryEnded` in a `try … finally`), allocating nothing.
 */
export abstract class LeaseConnection<C> implements DatabaseConnection {
  readonly #lease: Lease<C>
  #queriesInFlight = 0
  #discard = false

  constructor(lease: Lease<C>) {
    this.#lease = lease
  }

  /** @internal The lease this connection runs on. */
  get lease(): Lease<C> {
    return this.#lease
  }

  /** @internal Set when the connection must be closed rather than reused (a failed rollback). */
  get discard(): boolean {
    return this.#discard
  }

  /** @internal */
  markForDiscard(): void {
    this.#discard = true
  }

  /** The driver connection. Throws once the lease is released or revoked. */
  protected get client(): C {
    return this.#lease.connection
  }

  abstract executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>>

  abstract streamQuery<R>(compiledQuery: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>>

  /**
   * Kysely 0.29's `'cancel query'` abort strategy. Goes through the pool's side
   * channel (a PostgreSQL cancel request, MySQL `KILL QUERY`), which needs no
   * pool slot: it works while the pool is exhausted, unlike the stock drivers'
   * fallback that queues for a pool connection to run `pg_cancel_backend`.
   */
  async cancelQuery(): Promise<void> {
    await this.#interrupt('query')
  }

  /** Kysely 0.29's `'kill session'` abort strategy; the pool then closes the dead connection on release. */
  async killSession(): Promise<void> {
    await this.#interrupt('session')
  }

  /** Call before a query's first await; pair with `queryEnded` in `finally`. */
  protected queryStarted(): void {
    this.#queriesInFlight++
  }

  protected queryEnded(): void {
    this.#queriesInFlight--
  }

  async #interrupt(scope: 'query' | 'session'): Promise<void> {
    // Like the stock drivers: only interrupt while this connection's query is
    // still running. Kysely keeps the lease until the interrupt settles, so it
    // can never reach the next holder of the physical connection.
    if (this.#queriesInFlight > 0 && this.#lease.isHeld) {
      await this.#lease.interrupt(scope)
    }
  }
}
