/**
 * The options Kysely 0.29 passes to driver and connection methods. Declared
 * here rather than imported because Kysely 0.28 does not export it; the shape
 * is the same as Kysely's `AbortableOperationOptions`, so either version's
 * callers type-check against it.
 */
export interface AbortOptions {
  readonly signal?: AbortSignal | undefined
}
