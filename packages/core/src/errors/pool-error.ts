/**
 * The base of every error the pool throws. Each subclass has a stable `code`
 * that callers can switch on; messages are for humans and may change.
 *
 * No message or field ever contains a password: connector targets and causes
 * are redacted before they get here.
 */
export abstract class PoolError extends Error {
  abstract readonly code: PoolErrorCode

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

export type PoolErrorCode =
  | 'POOL_ACQUIRE_TIMEOUT'
  | 'POOL_QUEUE_FULL'
  | 'POOL_CLOSED'
  | 'POOL_CONFIG'
  | 'POOL_CONNECT_FAILED'
  | 'LEASE_RELEASED'
  | 'LEASE_REVOKED'
  | 'POOL_SIZING'
  | 'POOL_SESSION_STATE'
  | 'STATEMENT_STALLED'
