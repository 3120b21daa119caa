/**
 * A connection attempt that took longer than the pool's `createTimeoutMillis`.
 * Its own class (and `code`) so that classifiers recognise it without
 * parsing messages: it is always transient.
 */
export class ConnectTimeoutError extends Error {
  readonly code = 'CONNECT_TIMEOUT'

  constructor(target: string, timeoutMillis: number) {
    super(`connecting to ${target} timed out after ${timeoutMillis} ms`)
    this.name = 'ConnectTimeoutError'
  }
}
