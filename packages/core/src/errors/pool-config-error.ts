import { PoolError } from './pool-error.js'

/** Invalid options, at construction. `problems` has one message per bad field. */
export class PoolConfigError extends PoolError {
  readonly code = 'POOL_CONFIG'
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.problems = Object.freeze([...problems])
  }
}
