import { settleWithin } from './settle-within.js'

/**
 * Closes a connection gracefully if the driver's `end` finishes within
 * `timeoutMillis`, then destroys its socket whatever happened: a server that
 * never answers the goodbye must not hold up the pool's destroy.
 */
export async function closeWithin(
  end: () => Promise<unknown>,
  destroy: () => void,
  timeoutMillis: number,
): Promise<void> {
  try {
    await settleWithin(end(), timeoutMillis)
  } catch {
    // end() failed or threw synchronously: the destroy below is all that is left.
  } finally {
    destroy()
  }
}
