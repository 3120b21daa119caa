/**
 * Appends the caller's stack to a driver error, as Kysely's stock drivers do:
 * a pg/mysql2 error's own stack ends in the socket handler, which says nothing
 * about which query in the application failed.
 */
export function extendStackTrace<E>(error: E, stackError: Error): E {
  if (isStackHolder(error) && stackError.stack) {
    // The first line of `stackError.stack` only says `Error`.
    const extension = stackError.stack.split('\n').slice(1).join('\n')
    error.stack += `\n${extension}`
  }
  return error
}

function isStackHolder(value: unknown): value is { stack: string } {
  return typeof value === 'object' && value !== null && typeof (value as { stack?: unknown }).stack === 'string'
}
