import type { Connector, TransactionState } from '@kysely-pooled/core'

/** A connection that is only an object: the pool's bookkeeping is all that runs. */
export interface FakeConnection {
  readonly id: number
}

const RESOLVED: Promise<void> = Promise.resolve()

/**
 * The smallest Connector there is: connects at once, is always clean, idle
 * and healthy. Measuring a pool on it measures the pool alone.
 */
export function fakeConnector(): Connector<FakeConnection> {
  let nextId = 0
  return {
    dialect: 'fake',
    target: 'fake://in-memory',
    connect: () => Promise.resolve({ id: ++nextId }),
    close: () => RESOLVED,
    transactionState: (): TransactionState => 'idle',
    isBusy: () => false,
    whenIdle: () => RESOLVED,
    isSessionChanged: () => false,
    isBroken: () => false,
    rollback: () => RESOLVED,
    resetSession: () => RESOLVED,
    ping: () => RESOLVED,
    interrupt: () => RESOLVED,
    classifyConnectFailure: () => 'transient',
    onBroken: () => undefined,
  }
}
