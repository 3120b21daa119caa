import { LeaseReleasedError, type AcquireOptions } from '@kysely-pooled/core'
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely'
import type { AbortOptions } from './abort-options.js'
import type { LeaseConnection } from './lease-connection.js'
import type { StatementRouter } from './statement-route.js'

const RESOLVED = Promise.resolve()

/** What a handle needs from its driver to bind. */
export interface Binder {
  readonly router: StatementRouter
  /** Acquires a lease (hooks run) for `handle`. */
  bind(signal: AbortSignal | undefined, site: AcquireOptions['site']): Promise<LeaseConnection<unknown>>
  /** Gives a bound connection back to the pool. */
  release(connection: LeaseConnection<unknown>): Promise<void>
}

/**
 * The `DatabaseConnection` Kysely gets from `acquireConnection()`: it holds
 * no connection until its first statement. The router sends that statement
 * to a shared target or has the handle bind; a second statement, a stream
 * and `beginTransaction` always bind first. Bound, it is the
 * `LeaseConnection` it wraps, for good: a handle never unbinds.
 */
export class LazyConnection implements DatabaseConnection {
  readonly #binder: Binder
  /** The acquire's signal: bounds the wait for a connection when the statement brings none. */
  readonly #signal: AbortSignal | undefined
  readonly #site: AcquireOptions['site']
  #bound: LeaseConnection<unknown> | undefined
  #binding: Promise<LeaseConnection<unknown>> | undefined
  #statementsRun = 0
  #released = false

  constructor(binder: Binder, signal: AbortSignal | undefined, site: AcquireOptions['site']) {
    this.#binder = binder
    this.#signal = signal
    this.#site = site
  }

  /** @internal The exclusive connection, once bound. */
  get bound(): LeaseConnection<unknown> | undefined {
    return this.#bound
  }

  /**
   * @internal Kysely released the handle: its connection (if bound) goes
   * back to the pool, later use throws. A bind still in flight gives its
   * connection back as soon as it has it.
   */
  release(): Promise<void> {
    if (this.#released) {
      return Promise.reject(new LeaseReleasedError(0))
    }
    this.#released = true
    const bound = this.#bound
    return bound === undefined ? RESOLVED : this.#binder.release(bound)
  }

  /** @internal Binds now (a transaction is about to begin); resolves with the exclusive connection. */
  bind(options?: AbortOptions): Promise<LeaseConnection<unknown>> {
    if (this.#bound !== undefined) {
      return Promise.resolve(this.#bound)
    }
    if (this.#released) {
      return Promise.reject(new LeaseReleasedError(0))
    }
    this.#binding ??= this.#binder.bind(options?.signal ?? this.#signal, this.#site).then(
      (bound) => {
        if (this.#released) {
          void this.#binder.release(bound)
          throw new LeaseReleasedError(0)
        }
        return (this.#bound = bound)
      },
      (error: unknown) => {
        // A failed acquire leaves the handle unbound: a retry on it may bind.
        this.#binding = undefined
        throw error
      },
    )
    return this.#binding
  }

  executeQuery<R>(compiledQuery: CompiledQuery, options?: AbortOptions): Promise<QueryResult<R>> {
    const bound = this.#bound
    if (bound !== undefined) {
      return bound.executeQuery(compiledQuery)
    }
    if (this.#released) {
      return Promise.reject(new LeaseReleasedError(0))
    }
    const route =
      this.#binding === undefined
        ? this.#binder.router.route(compiledQuery, { statementsRun: this.#statementsRun, streamed: false })
        : undefined
    if (route?.kind === 'shared') {
      this.#statementsRun++
      return route.target.run(compiledQuery, options)
    }
    return this.bind(options).then((connection) => connection.executeQuery(compiledQuery))
  }

  async *streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize?: number,
    options?: AbortOptions,
  ): AsyncIterableIterator<QueryResult<R>> {
    if (this.#bound === undefined && this.#binding === undefined && !this.#released) {
      const route = this.#binder.router.route(compiledQuery, { statementsRun: this.#statementsRun, streamed: true })
      if (route.kind === 'shared' && route.target.stream !== undefined) {
        this.#statementsRun++
        yield* route.target.stream<R>(compiledQuery, chunkSize, options)
        return
      }
    }
    const connection = this.#bound ?? (await this.bind(options))
    yield* connection.streamQuery<R>(compiledQuery, chunkSize)
  }

  /** `'cancel query'`: only on a bound handle; a statement on a shared target is never cancelled (it is dropped). */
  async cancelQuery(): Promise<void> {
    await this.#bound?.cancelQuery()
  }

  /** `'kill session'`: only on a bound handle, as `cancelQuery`. */
  async killSession(): Promise<void> {
    await this.#bound?.killSession()
  }
}
