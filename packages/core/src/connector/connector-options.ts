import { PoolConfigError } from '../errors/pool-config-error.js'
import { describeValue } from '../util/describe-value.js'

/** The options both connectors take beside the driver's own configuration. */
export interface ConnectorOptions {
  /**
   * Longest wait for a graceful goodbye before the socket is destroyed.
   * @default 5000
   */
  readonly closeTimeoutMillis?: number
  /**
   * Longest time an interrupt's side channel (a cancel request, or the
   * control connection that ends a session) may take.
   * @default 5000
   */
  readonly interruptTimeoutMillis?: number
  /**
   * Server-side limit for each statement, set per session and kept across
   * session resets: PostgreSQL `statement_timeout`, MariaDB
   * `max_statement_time`, MySQL `max_execution_time` (SELECT only). Also
   * arms a client-side guard: a request the server leaves unanswered for
   * this long plus a margin (10 %, at least 1 s) means a dead path, and the
   * connection is closed so the statement fails. Unset or 0: no limit.
   * @default 0 (no limit)
   */
  readonly statementTimeoutMillis?: number
}

/** Those options with their defaults filled in. */
export interface ResolvedConnectorOptions {
  readonly closeTimeoutMillis: number
  readonly interruptTimeoutMillis: number
  /** `undefined` when there is no limit. */
  readonly statementTimeoutMillis: number | undefined
  /** How long a request may go unanswered before the path counts as dead; `undefined` without a limit. */
  readonly stallMillis: number | undefined
}

/** Node's timers overflow beyond this (a longer delay fires after 1 ms). */
const MAX_TIMER_MILLIS = 2 ** 31 - 1

/** Validates and fills in the options; every problem at once, as a `PoolConfigError`. */
export function resolveConnectorOptions(options: ConnectorOptions): ResolvedConnectorOptions {
  const problems: string[] = []
  const millis = (name: keyof ConnectorOptions, fallback: number | undefined, min: number): number | undefined => {
    const value: unknown = options[name]
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MILLIS) {
      problems.push(
        `${name} must be a number of milliseconds from ${min} to ${MAX_TIMER_MILLIS} (got ${describeValue(value)})`,
      )
      return fallback
    }
    return value
  }
  const closeTimeoutMillis = millis('closeTimeoutMillis', 5_000, 0)!
  const interruptTimeoutMillis = millis('interruptTimeoutMillis', 5_000, 0)!
  const statementTimeout = millis('statementTimeoutMillis', undefined, 0)
  if (problems.length > 0) throw new PoolConfigError(problems)
  const statementTimeoutMillis =
    statementTimeout === undefined || statementTimeout === 0 ? undefined : Math.ceil(statementTimeout)
  const stallMillis =
    statementTimeoutMillis === undefined
      ? undefined
      : Math.min(MAX_TIMER_MILLIS, statementTimeoutMillis + Math.max(1_000, Math.ceil(statementTimeoutMillis / 10)))
  return Object.freeze({ closeTimeoutMillis, interruptTimeoutMillis, statementTimeoutMillis, stallMillis })
}
