import { PoolError } from '../errors/pool-error.js'

/**
 * A request the server left unanswered for longer than the statement
 * timeout plus a margin: the path to the server is taken for dead, and the
 * connection is closed so that the waiting statement fails.
 */
export class StalledStatementError extends PoolError {
  readonly code = 'STATEMENT_STALLED'

  constructor(target: string, stallMillis: number) {
    super(
      `no answer from ${target} for ${stallMillis} ms (statementTimeoutMillis plus a margin): the connection was closed`,
    )
  }
}
