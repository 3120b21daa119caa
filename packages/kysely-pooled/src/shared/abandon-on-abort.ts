/**
 * An aborted caller is rejected at once with the signal's reason; the
 * statement itself runs to its end (on a shared connection a cancel request
 * could hit another caller's statement) and its result is dropped.
 * `statementTimeoutMillis` still bounds it on the server.
 */
export function abandonOnAbort<T>(sent: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    sent.catch(() => undefined)
    return Promise.reject(signal.reason)
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      sent.catch(() => undefined)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    sent.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
