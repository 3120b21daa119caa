import { PoolError } from './pool-error.js'

/** The pool is destroyed or being destroyed. */
export class PoolClosedError extends PoolError {
  readonly code = 'POOL_CLOSED'

  constructor(poolName: string) {
    super(`pool "${poolName}" is closed.`)
  }
}
