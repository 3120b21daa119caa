import { ConnectTimeoutError } from './connect-timeout-error.js'
import { scrubError } from './scrub-error.js'

export interface ConnectWithinOptions {
  /** The pool's create timeout. */
  readonly timeoutMillis: number
  /** The connector's password-free target, for the timeout's message. */
  readonly target: string
  /** Removed from the error before it leaves the connector. */
  readonly password: string | undefined
  /** Destroys the half-open connection: after a failure or a timeout it must not linger holding a server slot. */
  readonly abandon: () => void
  /** Gives up at once when aborted (the reason is rethrown). */
  readonly signal?: AbortSignal | undefined
}

/**
 * Waits for a new connection's setup (handshake, init statements), bounded by
 * the pool's create timeout (a `ConnectTimeoutError`, which classifies as
 * transient). On failure the connection is abandoned and the error rethrown,
 * password-free.
 */
export async function connectWithin(setup: Promise<unknown>, options: ConnectWithinOptions): Promise<void> {
  const { timeoutMillis, target, password, abandon, signal } = options
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectTimeoutError(target, timeoutMillis)), timeoutMillis)
    if (signal !== undefined) {
      onAbort = () => reject(signal.reason)
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    }
  })
  try {
    await Promise.race([setup, timeout])
  } catch (error) {
    setup.catch(() => {}) // settles after the timeout; nothing to report twice
    abandon()
    throw scrubError(error, password)
  } finally {
    clearTimeout(timer)
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
  }
}
