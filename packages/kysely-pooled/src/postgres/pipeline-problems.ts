/** What makes `pipeline` unusable in a config, one message each (reported with the config's other problems). */
export function pipelineProblems(raw: Record<string, unknown>): string[] {
  const { pipeline } = raw
  if (pipeline === undefined || pipeline === false) return []
  if (pipeline !== true) return [`pipeline must be true or false, got ${typeof pipeline}`]
  const problems: string[] = []
  const connection = raw.connection
  if (
    typeof connection === 'object' &&
    connection !== null &&
    (connection as { query_timeout?: unknown }).query_timeout
  ) {
    // pg answers a query_timeout on a pipelined connection by destroying it, failing every caller's statement on it.
    problems.push(
      'pipeline: true cannot be combined with the pg query_timeout option (in pipeline mode pg destroys the shared connection on a timeout); use statementTimeoutMillis',
    )
  }
  return problems
}
