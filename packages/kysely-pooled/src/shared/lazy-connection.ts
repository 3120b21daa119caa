import { LeaseReleasedError, type AcquireOptions, type Lease } from '@kysely-pooled/core'
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely'
import type { AbortOptions } from './abort-options.js'
import type { LeaseConnection } from './lease-connection.js'
import type {
  SessionHolder,
  SharedSession,
  StatementRouter,
  StatementSituation,
  StatementTiming,
} from './statement-route.js'

const RESOLVED = Promise.resolve()
/** The common case, allocated once. */
const FIRST_STATEMENT: StatementSituation = Object.freeze({ statementsRun: 0, streamed: false })

/** What a handle needs from its driver to bind. */
export interface Binder {
  readonly router: StatementRouter
  /** Acquires a lease (hooks run) for `handle`. */
  bind(signal: AbortSignal | undefined, site: AcquireOptions['site']): Promise<LeaseConnection<unknown>>
  /** Makes a lease the handle's exclusive connection (a claimed shared session). */
  adopt(lease: Lease<unknown>): LeaseConnection<unknown>
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
export class LazyConnection implements DatabaseConnection, SessionHolder {
  readonly #binder: Binder
  /** The acquire's signal: bounds the wait for a connection when the statement brings none. */
  readonly #signal: AbortSignal | undefined
  readonly #site: AcquireOptions['site']
  #bound: LeaseConnection<unknown> | undefined
  #binding: Promise<LeaseConnection<unknown>> | undefined
  #statementsRun = 0
  #released = false
  /** The session of the shared statement the handle ran, held until it binds or is released. */
  #session: SharedSession | undefined

  constructor(binder: Binder, signal: AbortSignal | undefined, site: AcquireOptions['site']) {
    this.#binder = binder
    this.#signal = signal
    this.#site = site
  }

  /** @internal Where the application acquired the handle (when leak detection is on). */
  get site(): AcquireOptions['site'] {
    return this.#site
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
    if (bound !== undefined) {
      return this.#binder.release(bound)
    }
    const session = this.#session
    if (session !== undefined) {
      this.#session = undefined
      return session.unpin()
    }
    return RESOLVED
  }

  /** @internal A shared target keeps the session of this handle's statement for it. */
  pin(session: SharedSession): void {
    // A pin that arrives late (its statement waited for a lease) finds the
    // handle bound, binding or released: the session is not needed.
    if (this.#released || this.#session !== undefined || this.#binding !== undefined) {
      void session.unpin()
    } else {
      this.#session = session
    }
  }

  /** @internal Binds now (a transaction is about to begin); resolves with the exclusive connection. */
  bind(options?: AbortOptions): Promise<LeaseConnection<unknown>> {
    if (this.#bound !== undefined) {
      return Promise.resolve(this.#bound)
    }
    if (this.#released) {
      return Promise.reject(new LeaseReleasedError(0))
    }
    this.#binding ??= this.#acquire(options).then(
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

  #situation(streamed: boolean): StatementSituation {
    return { statementsRun: this.#statementsRun, streamed }
  }

  /** The session of the handle's shared statement if it can be had, else a new exclusive connection. */
  async #acquire(options: AbortOptions | undefined): Promise<LeaseConnection<unknown>> {
    const session = this.#session
    if (session !== undefined) {
      this.#session = undefined
      const lease = await session.claim()
      if (lease !== undefined) {
        return this.#binder.adopt(lease)
      }
    }
    return this.#binder.bind(options?.signal ?? this.#signal, this.#site)
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
        ? this.#binder.router.route(compiledQuery, this.#statementsRun === 0 ? FIRST_STATEMENT : this.#situation(false))
        : undefined
    if (route?.kind === 'shared') {
      this.#statementsRun++
      return route.target.run(compiledQuery, options, this)
    }
    const timing = route?.kind === 'bind' ? route.timing : undefined
    if (timing !== undefined) {
      return this.bind(options).then((connection) => timed(connection, compiledQuery, timing))
    }
    return this.bind(options).then((connection) => connection.executeQuery(compiledQuery))
  }

  async *streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize?: number,
    options?: AbortOptions,
  ): AsyncIterableIterator<QueryResult<R>> {
    if (this.#bound === undefined && this.#binding === undefined && !this.#released) {
      const route = this.#binder.router.route(compiledQuery, this.#situation(true))
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

async function timed<R>(
  connection: LeaseConnection<unknown>,
  compiledQuery: CompiledQuery,
  timing: StatementTiming,
): Promise<QueryResult<R>> {
  const startedAt = performance.now()
  const result = await connection.executeQuery<R>(compiledQuery)
  timing.ran(compiledQuery, performance.now() - startedAt)
  return result
}
