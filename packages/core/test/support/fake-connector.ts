import type { ConnectFailureKind, Connector, InterruptScope, TransactionState } from '../../src/index.js'

/** An in-memory connection whose protocol state a test sets directly. */
export class FakeConnection {
  static #ids = 0
  readonly id = ++FakeConnection.#ids
  transaction: TransactionState = 'idle'
  busy = false
  sessionChanged = false
  broken = false
  closed = false
  /** Statements the pool sent on its own (rollback, reset, ping). */
  readonly statements: string[] = []
  readonly interrupts: InterruptScope[] = []
  #whenIdle: (() => void)[] = []
  #onBroken: ((error: Error) => void)[] = []
  failRollback = false

  finishQuery(): void {
    this.busy = false
    for (const resolve of this.#whenIdle.splice(0)) resolve()
  }

  whenIdle(): Promise<void> {
    return this.busy && !this.broken ? new Promise((resolve) => this.#whenIdle.push(resolve)) : Promise.resolve()
  }

  break(error = new Error('connection terminated')): void {
    this.broken = true
    for (const listener of this.#onBroken.splice(0)) listener(error)
    this.finishQuery()
  }

  onBroken(listener: (error: Error) => void): void {
    this.#onBroken.push(listener)
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
    const connection = new FakeConnection()
    this.connections.push(connection)
    return connection
  }

  async close(connection: FakeConnection): Promise<void> {
    connection.closed = true
  }

  transactionState(connection: FakeConnection): TransactionState {
    return connection.transaction
  }

  isBusy(connection: FakeConnection): boolean {
    return connection.busy
  }

  whenIdle(connection: FakeConnection): Promise<void> {
    return connection.whenIdle()
  }

  isSessionChanged(connection: FakeConnection): boolean {
    return connection.sessionChanged
  }

  isBroken(connection: FakeConnection): boolean {
    return connection.broken
  }

  async rollback(connection: FakeConnection): Promise<void> {
    connection.statements.push('ROLLBACK')
    if (connection.failRollback) {
      throw new Error('rollback failed')
    }
    connection.transaction = 'idle'
  }

  async resetSession(connection: FakeConnection): Promise<void> {
    connection.statements.push('RESET')
    connection.sessionChanged = false
  }

  async ping(connection: FakeConnection): Promise<void> {
    this.pings++
    connection.statements.push('PING')
    if (this.pingFails) {
      throw new Error('ping failed')
    }
  }

  async interrupt(connection: FakeConnection, scope: InterruptScope): Promise<void> {
    connection.interrupts.push(scope)
    if (scope === 'query') {
      connection.finishQuery()
    } else {
      connection.break()
    }
  }

  classifyConnectFailure(error: unknown): ConnectFailureKind {
    return error instanceof ConnectError ? error.kind : 'fatal'
  }

  onBroken(connection: FakeConnection, listener: (error: Error) => void): void {
    connection.onBroken(listener)
  }
}
