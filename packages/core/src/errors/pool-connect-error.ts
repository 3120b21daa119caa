import { PoolError } from './pool-error.js'

/**
 * Opening a connection failed in a way retrying cannot fix (authentication,
 * unknown database, unknown host): waiting callers get this at once instead
 * of waiting for the timeout. `cause` is the driver's (password-free) error.
 */
export class PoolConnectError extends PoolError {
  readonly code = 'POOL_CONNECT_FAILED'
  readonly target: string

  constructor(poolName: string, target: string, cause: Error) {
    super(`pool "${poolName}": cannot connect to ${target}: ${cause.message}`, { cause })
    this.target = target
  }
}
