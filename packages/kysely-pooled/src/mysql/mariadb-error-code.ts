/** MariaDB's errno for a statement ended by `max_statement_time` (MySQL's own timeout, 3024, mysql2 already names). */
const ER_STATEMENT_TIMEOUT = 1969

/**
 * mysql2 names only MySQL's error numbers, so MariaDB's statement timeout
 * arrives with `code` undefined; it gets MariaDB's own name,
 * `ER_STATEMENT_TIMEOUT`, so callers can switch on `code` as for any other
 * server error. Runs only on the error path.
 */
export function nameMariadbError(error: unknown): void {
  const fields = error as { errno?: unknown; code?: unknown } | null
  if (
    fields !== null &&
    typeof fields === 'object' &&
    fields.errno === ER_STATEMENT_TIMEOUT &&
    fields.code === undefined
  ) {
    fields.code = 'ER_STATEMENT_TIMEOUT'
  }
}
