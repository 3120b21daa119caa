import type { ConnectionHandle, Connector, TransactionState } from '@kysely-pooled/core'

/** A connection that is only an object: the pool's bookkeeping is all that runs. */
export interface FakeConnection {
  readonly id: number
}

const RESOLVED: Promise<void> = Promise.resolve()

/** A handle on a fake connection: always clean, idle and healthy; every member is free. */
class FakeHandle implements ConnectionHandle<FakeConnection> {
  readonly client: FakeConnection

  constructor(id: number) {
    this.client = { id }
  }

  transactionState(): TransactionState {
    return 'idle'
  }
  isBusy(): boolean {
    return false
  }
  whenIdle(): Promise<void> {
    return RESOLVED
  }
  isSessionChanged(): boolean {
    return false
  }
  acceptSession(): void {}
  isBroken(): boolean {
    return false
  }
  onBroken(): void {}
  rollback(): Promise<void> {
    return RESOLVED
  }
  resetSession(): Promise<void> {
    return RESOLVED
  }
  ping(): Promise<void> {
    return RESOLVED
  }
  interrupt(): Promise<void> {
    return RESOLVED
  }
  close(): Promise<void> {
    return RESOLVED
  }
}

/**
 * The smallest Connector there is: connects at once, is always clean, idle
 * and healthy. Measuring a pool on it measures the pool alone.
 */
export function fakeConnector(): Connector<FakeConnection> {
  let nextId = 0
  return {
    dialect: 'fake',
    target: 'fake://in-memory',
    connect: () => Promise.resolve(new FakeHandle(++nextId)),
    classifyConnectFailure: () => 'transient',
  }
}
