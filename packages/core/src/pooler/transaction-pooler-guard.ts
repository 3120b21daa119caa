import { SessionStateError } from '../errors/session-state-error.js'
import { findSessionState, SAFE_ALTERNATIVES, type SessionStateFinding } from './session-state-classifier.js'

/** Distinct statement texts remembered per guard; Kysely apps repeat a few hundred. */
const CACHE_LIMIT = 512

/**
 * The `pooler: 'transaction'` check on each statement pg is handed, before it
 * is sent. Classifying costs a tokenizer pass, so verdicts are cached by text
 * (cleared when full: no per-entry bookkeeping on the hot path).
 */
export class TransactionPoolerGuard {
  readonly #preparedStatements: boolean
  readonly #verdicts = new Map<string, SessionStateFinding | null>()

  constructor(preparedStatements: boolean) {
    this.#preparedStatements = preparedStatements
  }

  /**
   * The error to fail the statement with, or `undefined` to send it. `query`
   * is what pg's `client.query` got: a string, a `{ text, name }` config, or
   * a Submittable (pg-cursor keeps its text on `.text` or `.cursor.text`).
   */
  check(query: unknown, inTransaction: boolean): SessionStateError | undefined {
    const text = statementText(query)
    if (text === undefined) return undefined // unreadable: the connector flags the session instead
    const name = typeof query === 'object' && query !== null ? (query as { name?: unknown }).name : undefined
    if (typeof name === 'string' && name !== '' && !this.#preparedStatements) {
      return new SessionStateError({
        kind: 'named prepared statement',
        statement: `name '${name.length > 40 ? `${name.slice(0, 39)}…` : name}'`,
        inTransaction,
        alternative: SAFE_ALTERNATIVES['named prepared statement'],
      })
    }
    let finding = this.#verdicts.get(text)
    if (finding === undefined) {
      finding = findSessionState(text) ?? null
      if (this.#verdicts.size >= CACHE_LIMIT) this.#verdicts.clear()
      this.#verdicts.set(text, finding)
    }
    if (finding === null) return undefined
    return new SessionStateError({
      kind: finding.kind,
      statement: finding.excerpt,
      inTransaction,
      alternative: SAFE_ALTERNATIVES[finding.kind],
      inDoBlock: finding.inDoBlock,
    })
  }
}

/** A statement's SQL as pg's `client.query` receives it, or `undefined` when it cannot be read. */
export function statementText(query: unknown): string | undefined {
  if (typeof query === 'string') return query
  if (typeof query !== 'object' || query === null) return undefined
  const text = (query as { text?: unknown }).text ?? (query as { cursor?: { text?: unknown } }).cursor?.text
  return typeof text === 'string' ? text : undefined
}

type Callback = (error: Error) => void

/**
 * Fails a refused `client.query(query, values, callback)` call the way pg
 * fails a query it cannot send: a Submittable gets `handleError` on the next
 * tick, a callback is called, else a rejected promise is returned.
 */
export function refuseQuery(
  error: Error,
  query: unknown,
  values: unknown,
  callback: unknown,
  connection: unknown,
): unknown {
  const submittable = query as {
    submit?: unknown
    handleError?: (error: Error, connection: unknown) => void
    callback?: unknown
  }
  if (typeof query === 'object' && query !== null && typeof submittable.submit === 'function') {
    process.nextTick(() => submittable.handleError?.(error, connection))
    return query
  }
  const done = (
    typeof values === 'function' ? values : typeof callback === 'function' ? callback : submittable?.callback
  ) as Callback | undefined
  if (typeof done === 'function') {
    process.nextTick(() => done(error))
    return undefined
  }
  return Promise.reject(error)
}
