import type {
  ConnectFailureKind,
  ConnectionHandle,
  Connector,
  InterruptScope,
  TransactionState,
} from '../../src/index.js'

/**
 * An in-memory connection whose protocol state a test sets directly; it is
 * its own handle (`client` is itself). Faults are set on it or on its
 * connector: a ping that fails, never answers or breaks the connection on
 * the way; a rollback that fails or hangs; an interrupt that hangs.
 */
export class FakeConnection implements ConnectionHandle<FakeConnection> {
  static #ids = 0
  readonly id = ++FakeConnection.#ids
  readonly client = this
  readonly #connector: FakeConnector
  transaction: TransactionState = 'idle'
  busy = false
  /** Busy only until the server's ready message arrives (a statement that already failed). */
  settling = false
  sessionChanged = false
  broken = false
  closed = false
  keepsProcessAlive = true
  /** Statements the pool sent on its own (rollback, reset, ping). */
  readonly statements: string[] = []
  /** Interrupts the pool asked for, and whether their fence let them through. */
  readonly interrupts: InterruptScope[] = []
  readonly fencedOut: InterruptScope[] = []
  #whenIdle: (() => void)[] = []
  #hungPings: ((error: Error) => void)[] = []
  #onBroken: ((error: Error) => void)[] = []
  failRollback = false
  hangRollback = false
  /** Runs inside the rollback, before it answers (e.g. to break the connection mid-clean). */
  duringRollback: (() => void) | undefined
  /** A cancel that the statement ignores (a dead path): only a break ends it. */
  ignoreCancel = false
  /** The next interrupt waits for `releaseInterrupt()` before it checks its fence. */
  holdInterrupt = false
  #heldInterrupts: (() => void)[] = []
  /**
   * A cancel that passed its fence reaches the "server" only on
   * `deliverInterrupts()` (PostgreSQL applies a cancel asynchronously); its
   * promise resolves then, as the server closes the cancel socket only
   * after signalling the backend.
   */
  lateInterrupts = false
  #undelivered: (() => void)[] = []
  /** Numbers the statements the test starts; an interrupt is meant for the one running when it was sent. */
  statementSeq = 0
  /** Who holds the connection now (set by a test that tracks holders); a stray is counted across holders only. */
  holder = 0
  /** Interrupts that reached another holder's statement than the one they were sent for. */
  readonly strayInterrupts: number[] = []

  constructor(connector: FakeConnector) {
    this.#connector = connector
  }

  /** The holder starts a statement (busy until `finishQuery`). */
  startStatement(): number {
    this.busy = true
    this.settling = false
    return ++this.statementSeq
  }

  deliverInterrupts(): void {
    for (const deliver of this.#undelivered.splice(0)) deliver()
  }

  get undeliveredInterrupts(): number {
    return this.#undelivered.length
  }

  #failHungPings(): void {
    for (const reject of this.#hungPings.splice(0)) reject(new Error('connection terminated'))
  }

  finishQuery(): void {
    this.busy = false
    this.settling = false
    for (const resolve of this.#whenIdle.splice(0)) resolve()
  }

  break(error = new Error('connection terminated')): void {
    if (this.broken) return
    this.broken = true
    for (const listener of this.#onBroken.splice(0)) listener(error)
    this.#failHungPings()
    this.finishQuery()
  }

  releaseInterrupts(): void {
    for (const go of this.#heldInterrupts.splice(0)) go()
  }

  transactionState(): TransactionState {
    return this.transaction
  }

  isBusy(): boolean {
    return this.busy
  }

  isSettling(): boolean {
    return this.busy && this.settling
  }

  whenIdle(): Promise<void> {
    return this.busy && !this.broken ? new Promise((resolve) => this.#whenIdle.push(resolve)) : Promise.resolve()
  }

  isSessionChanged(): boolean {
    return this.sessionChanged
  }

  acceptSession(): void {
    this.sessionChanged = false
  }

  isBroken(): boolean {
    return this.broken
  }

  onBroken(listener: (error: Error) => void): void {
    if (this.#connector.breakOnListen) {
      // The server's FATAL arrives right after the pool starts listening (before it admits the connection).
      queueMicrotask(() => this.break(new Error('terminating connection due to administrator command')))
    }
    if (this.broken) {
      queueMicrotask(() => listener(new Error('connection terminated')))
      return
    }
    this.#onBroken.push(listener)
  }

  async rollback(): Promise<void> {
    this.statements.push('ROLLBACK')
    if (this.hangRollback) return new Promise(() => {})
    if (this.failRollback) throw new Error('rollback failed')
    this.duringRollback?.()
    this.transaction = 'idle'
  }

  /** Runs inside the reset, before it answers. */
  duringReset: (() => void) | undefined

  async resetSession(): Promise<void> {
    this.statements.push('RESET')
    this.duringReset?.()
    if (this.broken) throw new Error('connection terminated')
    this.sessionChanged = false
  }

  ping(): Promise<void> {
    const connector = this.#connector
    connector.pings++
    this.statements.push('PING')
    if (connector.pingBreaks) {
      // As pg does on a reset socket: 'error' synchronously, the ping's rejection a tick later.
      this.break(new Error('read ECONNRESET'))
      return Promise.reject(new Error('read ECONNRESET'))
    }
    // A ping that never answers fails once the connection breaks or closes, as a driver's does.
    if (connector.pingHangs) return new Promise((_, reject) => this.#hungPings.push(reject))
    const answer = (): Promise<void> =>
      connector.pingFails ? Promise.reject(new Error('ping failed')) : Promise.resolve()
    if (connector.pingDelayMillis > 0) {
      return new Promise((resolve) => setTimeout(resolve, connector.pingDelayMillis)).then(answer)
    }
    return answer()
  }

  async interrupt(scope: InterruptScope, isCurrent: () => boolean): Promise<void> {
    if (this.holdInterrupt) {
      await new Promise<void>((resolve) => this.#heldInterrupts.push(resolve))
    }
    if (!isCurrent()) {
      this.fencedOut.push(scope)
      return
    }
    if (this.#connector.interruptBreaks) {
      this.break(new Error('read ECONNRESET'))
      return
    }
    // As the real handles: no cancel is sent when no statement runs.
    if (scope === 'query' && !this.busy && this.lateInterrupts) {
      this.fencedOut.push(scope)
      return
    }
    this.interrupts.push(scope)
    const meantFor = this.statementSeq
    const holder = this.holder
    const land = (): void => {
      if (scope === 'query') {
        if (this.busy && this.statementSeq !== meantFor && this.holder !== holder) {
          this.strayInterrupts.push(this.statementSeq)
        }
        if (!this.ignoreCancel) this.finishQuery()
      } else this.break(new Error('terminating connection due to administrator command'))
    }
    if (!this.lateInterrupts) return land()
    await new Promise<void>((resolve) =>
      this.#undelivered.push(() => {
        land()
        resolve()
      }),
    )
  }

  async close(): Promise<void> {
    this.closed = true
    // As a destroyed socket does: whatever was running fails.
    this.#failHungPings()
    this.finishQuery()
  }

  setKeepsProcessAlive(keep: boolean): void {
    this.keepsProcessAlive = keep
  }
}

export class ConnectError extends Error {
  constructor(
    message: string,
    readonly kind: ConnectFailureKind,
  ) {
    super(message)
  }
}

/** A connector for unit tests of the pool's own logic. Never evidence about a real database. */
export class FakeConnector implements Connector<FakeConnection> {
  readonly dialect = 'fake'
  readonly target = 'fake://db'
  readonly connections: FakeConnection[] = []
  connectAttempts = 0
  connectDelayMillis = 0
  /** Each connect takes the next failure from here while it is not empty. */
  readonly failures: ConnectError[] = []
  failAlways: ConnectError | undefined
  pingFails = false
  pingHangs = false
  pingBreaks = false
  pingDelayMillis = 0
  /** A new connection breaks one microtask after the pool registers its break listener. */
  breakOnListen = false
  /** An interrupt breaks the connection instead of interrupting (a dead path). */
  interruptBreaks = false
  /** New connections start with late cancel delivery (`FakeConnection.lateInterrupts`). */
  lateInterrupts = false
  pings = 0

  /** Connects in progress now, and the most ever in progress at once. */
  connecting = 0
  maxConnecting = 0

  async connect(): Promise<FakeConnection> {
    this.connectAttempts++
    this.connecting++
    this.maxConnecting = Math.max(this.maxConnecting, this.connecting)
    try {
      return await this.#connect()
    } finally {
      this.connecting--
    }
  }

  async #connect(): Promise<FakeConnection> {
    if (this.connectDelayMillis > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.connectDelayMillis))
    }
    const failure = this.failAlways ?? this.failures.shift()
    if (failure) {
      throw failure
    }
    const connection = new FakeConnection(this)
    connection.lateInterrupts = this.lateInterrupts
    this.connections.push(connection)
    return connection
  }

  classifyConnectFailure(error: unknown): ConnectFailureKind {
    return error instanceof ConnectError ? error.kind : 'fatal'
  }
}
