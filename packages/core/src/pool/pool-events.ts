import type { TransactionState } from '../connector/connector.js'
import type { LeaseRevokeReason } from '../errors/lease-revoked-error.js'
import type { PoolTimeoutError } from '../errors/pool-timeout-error.js'

/** Why a connection was closed. */
export type DestroyReason =
  | 'broken'
  | 'dirty'
  | 'retired'
  | 'max-uses'
  | 'idle'
  | 'failed-validation'
  | 'revoked'
  | 'reclaimed'
  | 'discarded'
  | 'pool-destroyed'

/** The pool's events and their payloads: `pool.on('leak', (e) => …)`. */
export interface PoolEvents {
  acquire: { readonly leaseId: number; readonly waitedMillis: number }
  /** A holder gave its lease back (a revoke is reported as `revoke` instead). */
  release: { readonly leaseId: number; readonly heldMillis: number }
  create: { readonly connectionId: number; readonly createMillis: number }
  destroy: { readonly connectionId: number; readonly reason: DestroyReason }
  timeout: { readonly error: PoolTimeoutError }
  /** A release found a transaction open (or failed) and rolled it back. */
  rollback: { readonly leaseId: number; readonly state: TransactionState }
  /** A release reset the session. */
  reset: { readonly leaseId: number }
  leak: {
    readonly leaseId: number
    readonly heldMillis: number
    readonly acquiredAt?: string
    readonly stack?: string
  }
  revoke: { readonly leaseId: number; readonly heldMillis: number; readonly reason: LeaseRevokeReason }
  /** Something failed that no caller is waiting on (a broken idle connection, a failed cleanup). */
  error: { readonly error: Error; readonly context: string }
}

export type PoolEventName = keyof PoolEvents
export type PoolEventListener<E extends PoolEventName> = (payload: PoolEvents[E]) => void
