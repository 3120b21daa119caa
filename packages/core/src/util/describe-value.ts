/**
 * A short, safe rendering of a value that failed validation, for error
 * messages: strings quoted, numbers, booleans and null/undefined as written,
 * anything else by its type only (an object could be large, or hold a secret).
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value)
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) {
    return String(value)
  }
  return typeof value
}
