import type { TransactionState } from '../connector/connector.js'

/** One held lease, as `pool.holders()` and timeout errors report it. */
export interface HolderInfo {
  readonly leaseId: number
  /** How long the lease has been held. */
  readonly heldMillis: number
  /** The transaction state of its connection right now. */
  readonly transaction: TransactionState
  /** Where it was acquired (first stack frame outside the pool), when leak detection is on. */
  readonly acquiredAt?: string
  /** The full acquire stack, when leak detection is on. */
  readonly stack?: string
}
