import { PoolError } from '../errors/pool-error.js'

/**
 * `recommendPoolSize` refused: the input is invalid, or the server's
 * connection budget cannot give every process even one connection.
 * `problems` has one line per reason, so all of them can be fixed at once.
 */
export class PoolSizingError extends PoolError {
  readonly code = 'POOL_SIZING'
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    super(
      problems.length === 1
        ? `cannot size the pool: ${problems[0]}`
        : `cannot size the pool:\n  - ${problems.join('\n  - ')}`,
    )
    this.problems = Object.freeze([...problems])
  }
}
