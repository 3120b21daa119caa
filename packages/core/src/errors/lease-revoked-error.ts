import { PoolError } from './pool-error.js'

/**
 * - `max-lease`: held longer than `maxLeaseMillis`.
 * - `pool-destroyed`: still held when `destroy()`'s grace period ended.
 * - `garbage-collected`: the holder dropped the lease without releasing it.
 */
export type LeaseRevokeReason = 'max-lease' | 'pool-destroyed' | 'garbage-collected'

const WHY: Readonly<Record<LeaseRevokeReason, string>> = {
  'max-lease': 'held longer than maxLeaseMillis; its transaction was rolled back',
  'pool-destroyed': 'the pool was destroyed; its transaction was rolled back',
  'garbage-collected': 'it was garbage-collected while held; its connection was closed',
}

/** The pool took the lease back (see `reason`). */
export class LeaseRevokedError extends PoolError {
  readonly code = 'LEASE_REVOKED'
  readonly reason: LeaseRevokeReason

  constructor(leaseId: number, reason: LeaseRevokeReason) {
    super(`lease #${leaseId} was revoked: ${WHY[reason]}.`)
    this.reason = reason
  }
}
