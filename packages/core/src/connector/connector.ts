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
 *   unknown host). Waiting callers fail at once when no open connection can
 *   serve them.
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
  /** Aborting gives up at once: the half-open connection is destroyed. */
  readonly signal?: AbortSignal | undefined
}

/**
 * Everything the pool knows about a database. The pool itself is
 * database-agnostic: the connector and the handles it returns are the only
 * places that know the wire protocol.
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
  connect(options: ConnectOptions): Promise<ConnectionHandle<C>>

  /** Classifies an error from `connect`. */
  classifyConnectFailure(error: unknown): ConnectFailureKind
}

/**
 * The connector's handle on one open connection: it owns that connection's
 * protocol state, so the pool never keeps side tables keyed by the driver's
 * client.
 *
 * The state reads (`transactionState`, `isBusy`, `isSessionChanged`,
 * `isBroken`) run on every release: they must be synchronous, cost no round
 * trip and allocate nothing — they read what the protocol already told the
 * client.
 */
export interface ConnectionHandle<C> {
  /** The driver's connection (a pg `Client`, a mysql2 `Connection`): what a lease hands out. */
  readonly client: C

  /** Synchronous, free: the transaction state from the last protocol message. */
  transactionState(): TransactionState

  /**
   * Synchronous, free: a statement is in flight or queued, or the server has
   * not yet said it is ready for the next one (so `transactionState` may be
   * stale).
   */
  isBusy(): boolean

  /**
   * Optional; synchronous, free: busy only because the server's
   * end-of-statement message (PostgreSQL's ReadyForQuery after an error) is
   * still on its way. No statement runs, nothing needs interrupting, and the
   * connection is idle within one message.
   */
  isSettling?(): boolean

  /** Resolves once `isBusy()` is false or the connection is broken. Never rejects. */
  whenIdle(): Promise<void>

  /**
   * Synchronous, free: the session may differ from its baseline (settings,
   * role, temp tables, session locks, prepared statements, listeners, held
   * cursors, user variables). False positives cost one reset; false
   * negatives leak state to the next borrower, so connectors err on the side
   * of `true`.
   */
  isSessionChanged(): boolean

  /**
   * Declares the session as it is now the baseline, clearing the changed
   * flag: called after a setup hook so that what it set up (a time zone, a
   * search path) does not make every release reset the session.
   */
  acceptSession(): void

  /**
   * Synchronous, free: the connection can never be used again. True after
   * any fatal error seen by any path — `'error'`, `'end'`, `'close'`, a
   * socket error handed to a running statement's callback, a failed write.
   */
  isBroken(): boolean

  /**
   * Registers the listener called (once) when the connection breaks, for
   * breaks the handle hears about as events. If it is already broken, the
   * listener is called on the next microtask. The handle keeps an `'error'`
   * listener on the client so that a dying idle connection never crashes
   * the process.
   */
  onBroken(listener: (error: Error) => void): void

  /** Rolls back an open or failed transaction. Rejects when that fails. */
  rollback(): Promise<void>

  /**
   * Returns the session to its state right after `connect` (PostgreSQL
   * `DISCARD ALL`, MySQL `COM_RESET_CONNECTION`, then whatever the connector
   * set up at connect, e.g. a statement timeout) and clears the changed flag.
   * Called only outside a transaction. Rejects when that fails.
   */
  resetSession(): Promise<void>

  /** One cheap round trip proving the connection still works. Rejects when it does not. */
  ping(): Promise<void>

  /**
   * Interrupts the connection's work from a side channel that needs no pool
   * slot, so it works while the pool is exhausted. `isCurrent` is asked right
   * before anything is sent: when it returns false (the work this interrupt
   * was meant for is over, and the connection may be someone else's now)
   * nothing is sent. Never rejects; bounded in time.
   */
  interrupt(scope: InterruptScope, isCurrent: () => boolean): Promise<void>

  /**
   * Closes the connection: gracefully when it is healthy and idle, else (or
   * when the goodbye takes too long) by destroying its socket — never a
   * half-close. Never rejects; always settles in bounded time.
   */
  close(): Promise<void>

  /**
   * Optional: lets the process exit while only this connection's socket is
   * open (`allowExitOnIdle`), or makes it hold the process again.
   */
  setKeepsProcessAlive?(keep: boolean): void
}
