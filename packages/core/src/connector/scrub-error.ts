import { redactSecret, redactUrl } from './redact-url.js'

/**
 * Removes the password from an error a driver (or a URL parser) threw, in
 * place, before it leaves the connector: message, stack, and every own string
 * property (Node's URL errors carry the whole URL in `input`). Walks `cause`
 * chains. Returns an `Error` (non-errors are wrapped).
 */
export function scrubError(error: unknown, password: string | undefined): Error {
  const result = error instanceof Error ? error : new Error(String(error))
  scrub(result, password, new Set())
  return result
}

function scrub(error: Error, password: string | undefined, seen: Set<unknown>): void {
  if (seen.has(error)) return
  seen.add(error)
  const record = error as unknown as Record<string, unknown>
  for (const key of new Set([...Object.getOwnPropertyNames(error), 'message', 'stack'])) {
    const value = record[key]
    if (typeof value !== 'string') continue
    let clean = redactSecret(value, password)
    // A whole connection string (e.g. Node's `input`): drop its password even
    // when we do not know it (an unparseable URL we never managed to read).
    if (clean.includes('://')) {
      clean = clean.replace(/[a-z][a-z0-9+.-]*:\/\/\S*@\S*/gi, (url) => redactUrl(url))
    }
    if (clean !== value) {
      try {
        record[key] = clean
      } catch {
        // A read-only property we cannot fix; the message and stack are writable on every Error.
      }
    }
  }
  if (error.cause instanceof Error) {
    scrub(error.cause, password, seen)
  }
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      if (inner instanceof Error) scrub(inner, password, seen)
    }
  }
}
