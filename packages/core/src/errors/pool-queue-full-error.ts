import { PoolError } from './pool-error.js'

/** The wait queue already holds `maxWaiting` callers: refused at once. */
export class PoolQueueFullError extends PoolError {
  readonly code = 'POOL_QUEUE_FULL'
  readonly maxWaiting: number

  constructor(poolName: string, maxWaiting: number, size: number) {
    super(
      maxWaiting === 0
        ? `pool "${poolName}": all ${size} connections are leased and maxWaiting is 0 (fail fast).`
        : `pool "${poolName}": all ${size} connections are leased and ${maxWaiting} callers are already waiting (maxWaiting).`,
    )
    this.maxWaiting = maxWaiting
  }
}
