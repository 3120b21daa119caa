import type { AcquireOptions, Lease } from '@kysely-pooled/core'
import type { CompiledQuery, QueryResult } from 'kysely'
import type { AbortOptions } from './abort-options.js'

/** Where a handle stands when a statement arrives on it, unbound. */
export interface StatementSituation {
  /** Statements the handle already ran (on shared targets). `0`: this is its first. */
  readonly statementsRun: number
  /** The statement is streamed (`.stream()`): a cursor keeps a portal open across round trips. */
  readonly streamed: boolean
}

/**
 * Somewhere a statement can run without the handle holding a connection of
 * its own: pipelined on a shared connection, or (for another router) on a
 * connection of some other pool, taken for the statement's run only. It
 * never sends a cancel request (a cancel there could hit someone else's
 * statement): an aborted statement rejects at once and its result is dropped.
 */
export interface SharedTarget {
  /**
   * Runs the statement. A target whose statements run in a session that a
   * later statement of the same handle should find again (`db.connection()`)
   * hands that session to `holder` (see `SharedSession`).
   */
  run<R>(
    compiledQuery: CompiledQuery,
    options: AbortOptions | undefined,
    holder?: SessionHolder,
  ): Promise<QueryResult<R>>
  /** For targets that can stream; a streamed statement routed to a target without it binds instead. */
  stream?<R>(
    compiledQuery: CompiledQuery,
    chunkSize: number | undefined,
    options: AbortOptions | undefined,
  ): AsyncIterableIterator<QueryResult<R>>
}

/**
 * The session a handle's shared statement ran in, kept for the handle until
 * Kysely releases it: a second statement on the handle binds to this very
 * session (`claim`), so `db.connection()` keeps one session throughout.
 */
export interface SharedSession {
  /** The handle is done with the session (released without binding). */
  unpin(): Promise<void>
  /**
   * The session's connection as the handle's exclusive lease, once the other
   * statements in flight on it are done; `undefined` when it cannot be had
   * (another handle claimed it first, or it broke): the handle binds afresh.
   * Either way the pin is used up.
   */
  claim(): Promise<Lease<unknown> | undefined>
}

/** Who keeps a `SharedSession`: the handle. */
export interface SessionHolder {
  /** Where the application acquired the handle: for a lease the target takes on the statement's behalf. */
  readonly site: AcquireOptions['site']
  pin(session: SharedSession): void
}

/** Told how long a statement that bound ran on its connection (successful runs only). */
export interface StatementTiming {
  ran(compiledQuery: CompiledQuery, millis: number): void
}

/**
 * The router's answer: bind the handle to an exclusive connection (and,
 * with `timing`, report how long the statement ran there), or run on a
 * shared target.
 */
export type StatementRoute =
  | { readonly kind: 'bind'; readonly timing?: StatementTiming }
  | { readonly kind: 'shared'; readonly target: SharedTarget }

/**
 * Decides where the statements of an unbound handle run. Consulted only
 * while the handle is unbound: once bound (a transaction, a second
 * statement, a session-changing statement, a stream) every statement runs
 * on the handle's own connection.
 */
export interface StatementRouter {
  route(compiledQuery: CompiledQuery, situation: StatementSituation): StatementRoute
}

export const BIND: StatementRoute = Object.freeze({ kind: 'bind' })

/** Binds on the first statement: the handle behaves as an exclusive connection taken one statement late. */
export const ALWAYS_BIND: StatementRouter = Object.freeze({ route: () => BIND })
