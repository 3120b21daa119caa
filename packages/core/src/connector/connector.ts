/**
 * The transaction state of a connection as the server last reported it.
 *
 * - `idle`: no transaction is open.
 * - `in-transaction`: a transaction is open and healthy.
 * - `failed`: a transaction is open and failed (PostgreSQL's `E`); only a
 *   rollback leaves it.
 * - `unknown`: the connector cannot tell (e.g. after an error whose effect on
 *   the transaction it does not know). The pool treats it as dirty.
 */
export type TransactionState = 'idle' | 'in-transaction' | 'failed' | 'unknown'

/**
 * How a failed connection attempt should be handled.
 *
 * - `transient`: the server is there but refusing for now (too many
 *   connections, connection refused, a timeout). Callers stay queued and
 *   creation is retried with backoff.
 * - `fatal`: retrying cannot help (authentication failed, unknown database,
 *   unknown host). Waiting callers fail at once with the error.
 */
export type ConnectFailureKind = 'transient' | 'fatal'

/**
 * Which part of a connection's work to interrupt from a side channel.
 *
 * - `query`: cancel the statement that is running (PostgreSQL cancel request,
 *   MySQL `KILL QUERY`).
 * - `session`: end the server session (`pg_terminate_backend`, MySQL `KILL`).
 */
export type InterruptScope = 'query' | 'session'

export interface ConnectOptions {
  /** The connector must give up (and clean up) after this long. */
  readonly timeoutMillis: number
}

/**
 * Everything the pool knows about a database. The pool itself is
 * database-agnostic: this interface is the only place that knows the wire
 * protocol, so every method here is small and does exactly one thing.
 *
 * The state queries (`transactionState`, `isBusy`, `isSessionChanged`,
 * `isBroken`) are called on every release: they must be synchronous, cost no
 * round trip and allocate nothing — they read what the protocol already told
 * the client.
 */
export interface Connector<C> {
  /** `'postgres'`, `'mysql'` or a custom connector's name. */
  readonly dialect: string

  /** Where this connector connects, with any password removed. Used in errors and logs. */
  readonly target: string

  /**
   * Opens and fully initialises one connection. It must reject with a
   * password-free error, and must not leave a socket behind when it rejects
   * (including on timeout).
   */
  connect(options: ConnectOptions): Promise<C>

  /** Closes a connection. Never rejects and always settles: forceful when a graceful close hangs. */
  close(connection: C): Promise<void>

  /** Synchronous, free: the transaction state from the last protocol message. */
  transactionState(connection: C): TransactionState

  /**
   * Synchronous, free: a query is in flight or queued, or the server has not
   * yet said it is ready for the next one (so `transactionState` may be stale).
   */
  isBusy(connection: C): boolean

  /** Resolves once `isBusy` is false or the connection is broken. Never rejects. */
  whenIdle(connection: C): Promise<void>

  /**
   * Synchronous, free: the session may differ from a freshly opened one
   * (settings, role, temp tables, session locks, prepared statements,
   * listeners, held cursors, user variables). False positives cost one reset;
   * false negatives leak state to the next borrower, so connectors err on the
   * side of `true`.
   */
  isSessionChanged(connection: C): boolean

  /**
   * Optional. Declares the session as it is now the baseline, clearing the
   * changed flag: called after a connection-setup hook (Kysely's
   * `onCreateConnection`) so that the state it set up (a time zone, a search
   * path) does not make every release reset the session.
   */
  acceptSession?(connection: C): void

  /** Synchronous, free: the connection errored or ended and can never be reused. */
  isBroken(connection: C): boolean

  /** Rolls back an open or failed transaction. Rejects when that fails. */
  rollback(connection: C): Promise<void>

  /**
   * Returns the session to the state of a fresh connection (PostgreSQL
   * `DISCARD ALL`, MySQL `COM_RESET_CONNECTION`) and clears the changed
   * flag. Called only outside a transaction. Rejects when that fails.
   */
  resetSession(connection: C): Promise<void>

  /** One cheap round trip proving the connection still works. */
  ping(connection: C): Promise<void>

  /**
   * Interrupts the connection's work from a side channel that does not need
   * a pool slot, so it works while the pool is exhausted. Never rejects.
   */
  interrupt(connection: C, scope: InterruptScope): Promise<void>

  /** Classifies an error from `connect`. */
  classifyConnectFailure(error: unknown): ConnectFailureKind

  /**
   * Registers the listener called (once) when the connection breaks: socket
   * error, server-side termination, end. The connector keeps an `'error'`
   * listener on every connection it creates so that a dying idle connection
   * never crashes the process.
   */
  onBroken(connection: C, listener: (error: Error) => void): void
}
