import type { PostgresQueryResult as PgQueryResult } from '@kysely-pooled/core'
import type { QueryResult } from 'kysely'

/** A pg result as Kysely's stock `PostgresConnection` maps it. */
export function toKyselyResult<R>(result: PgQueryResult): QueryResult<R> {
  const { command, rowCount, rows } = result
  // Kysely's commit path reads the command tag: COMMIT of a failed
  // transaction completes with ROLLBACK.
  if (command === 'ROLLBACK' || command === 'COMMIT') {
    return { rows: [{ command } as R] }
  }
  return {
    numAffectedRows:
      command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
        ? BigInt(rowCount ?? 0)
        : undefined,
    rows: (rows ?? []) as R[],
  }
}
