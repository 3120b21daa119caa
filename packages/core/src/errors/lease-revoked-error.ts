import { PoolError } from './pool-error.js'

export type LeaseRevokeReason = 'max-lease' | 'pool-destroyed'

/** The pool took the lease back (held past `maxLeaseMillis`, or the pool was destroyed). */
export class LeaseRevokedError extends PoolError {
  readonly code = 'LEASE_REVOKED'
  readonly reason: LeaseRevokeReason

  constructor(leaseId: number, reason: LeaseRevokeReason) {
    super(
      reason === 'max-lease'
        ? `lease #${leaseId} was revoked: held longer than maxLeaseMillis; its transaction was rolled back.`
        : `lease #${leaseId} was revoked: the pool was destroyed; its transaction was rolled back.`,
    )
    this.reason = reason
  }
}
