import type { SessionStateKind } from '../pooler/session-state-classifier.js'
import { PoolError } from './pool-error.js'

/**
 * Behind a transaction pooler (`pooler: 'transaction'`), a statement that
 * would leave session state on the pooler's shared server connection: refused
 * before it was sent. The message names the statement kind and what to do
 * instead; nothing of the statement's literals is included.
 */
export class SessionStateError extends PoolError {
  readonly code = 'POOL_SESSION_STATE'
  readonly kind: SessionStateKind
  /** The statement's words with literals elided. */
  readonly statement: string
  /** Whether the connection was inside a transaction when the statement was refused. */
  readonly inTransaction: boolean
  readonly alternative: string

  constructor(details: {
    readonly kind: SessionStateKind
    readonly statement: string
    readonly inTransaction: boolean
    readonly alternative: string
    readonly inDoBlock?: boolean
  }) {
    const where = details.inTransaction ? 'inside a transaction, but it outlives it' : 'outside a transaction'
    const subject =
      details.kind === 'named prepared statement'
        ? `a named prepared statement (${details.statement})`
        : `${details.kind}${details.inDoBlock === true ? ' in a DO block' : ''} (${details.statement})`
    super(
      `pooler 'transaction': refused before sending ${subject}: it would leave session state on a server ` +
        `connection the pooler hands to other clients (${where}). Instead: ${details.alternative}.`,
    )
    this.kind = details.kind
    this.statement = details.statement
    this.inTransaction = details.inTransaction
    this.alternative = details.alternative
  }
}
