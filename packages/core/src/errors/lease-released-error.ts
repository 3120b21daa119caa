import { PoolError } from './pool-error.js'

/** The lease was already released: a second release, or use after release. */
export class LeaseReleasedError extends PoolError {
  readonly code = 'LEASE_RELEASED'

  constructor(leaseId: number) {
    super(`lease #${leaseId} was already released; acquire a new one.`)
  }
}
