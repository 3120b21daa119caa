import { PoolConfigError } from '../errors/pool-config-error.js'
import { describeValue } from '../util/describe-value.js'
import { suggestOption } from './suggest-option.js'

/** What to do with session state (settings, temp tables, locks…) on release. */
export type ResetPolicy = 'auto' | 'always' | 'never'

/**
 * Pool options. Every field is optional; the defaults are in
 * {@link POOL_DEFAULTS} and in the README. Times are milliseconds; for the
 * optional features (`maxLifetimeMillis`, `validateAfterIdleMillis`,
 * `leakDetectionMillis`, `maxLeaseMillis`) `0` turns the feature off.
 */
export interface PoolOptions {
  /** Idle connections kept warm, created in parallel at start. */
  readonly min?: number
  /** Hard cap on open connections (leased + idle + being opened). */
  readonly max?: number
  /** Longest time a caller queues for a connection before `PoolTimeoutError`. */
  readonly acquireTimeoutMillis?: number
  /** Longest queue; beyond it `PoolQueueFullError` at once. `0` fails fast. `Infinity` is unbounded. */
  readonly maxWaiting?: number
  /** Longest time one connection attempt may take. */
  readonly createTimeoutMillis?: number
  /** Idle connections above `min` are closed after this. `0` keeps them. */
  readonly idleTimeoutMillis?: number
  /** Connections are retired after this age (minus up to 2.5 % jitter), never while leased. */
  readonly maxLifetimeMillis?: number
  /** A connection idle longer than this is pinged before it is handed out. */
  readonly validateAfterIdleMillis?: number
  /** A lease held longer than this is reported (`'leak'` event with the acquire site). */
  readonly leakDetectionMillis?: number
  /** A lease held longer than this is revoked: rolled back, reclaimed, later use throws. */
  readonly maxLeaseMillis?: number
  /** Session-state policy on release. */
  readonly reset?: ResetPolicy
  /** Pool name for stats, errors and metrics. */
  readonly name?: string
}

/** The validated, frozen configuration a pool runs with. */
export interface PoolConfig {
  readonly min: number
  readonly max: number
  readonly acquireTimeoutMillis: number
  readonly maxWaiting: number
  readonly createTimeoutMillis: number
  readonly idleTimeoutMillis: number
  readonly maxLifetimeMillis: number
  readonly validateAfterIdleMillis: number
  readonly leakDetectionMillis: number
  readonly maxLeaseMillis: number
  readonly reset: ResetPolicy
  readonly name: string
}

/**
 * The defaults. They follow the sizing advice: few connections (`max` 10 is
 * an upper bound, not a target), no idle connections kept open by default,
 * and a short queue wait, because a queued caller is a user waiting.
 */
export const POOL_DEFAULTS: Readonly<Omit<PoolConfig, 'name'>> = Object.freeze({
  min: 0,
  max: 10,
  acquireTimeoutMillis: 10_000,
  maxWaiting: 1_000,
  createTimeoutMillis: 5_000,
  idleTimeoutMillis: 30_000,
  maxLifetimeMillis: 30 * 60_000,
  validateAfterIdleMillis: 5_000,
  leakDetectionMillis: 0,
  maxLeaseMillis: 0,
  reset: 'auto',
})

const RESET_POLICIES: readonly ResetPolicy[] = ['auto', 'always', 'never']
const KNOWN_KEYS = new Set<string>([...Object.keys(POOL_DEFAULTS), 'name'])

// Timers cannot wait longer than this (about 24.8 days); a longer setting
// would fire at once.
const MAX_TIMER_MILLIS = 2 ** 31 - 1

let poolCounter = 0

/**
 * Validates options and returns the frozen config. Every problem is
 * reported at once, one line per field, so a user fixes them in one go.
 */
export function resolvePoolOptions(options: PoolOptions = {}): PoolConfig {
  const problems: string[] = []

  if (options === null || typeof options !== 'object') {
    throw new PoolConfigError([`options must be an object, got ${describeValue(options)}`])
  }

  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      problems.push(`unknown option "${key}"${suggestOption(key, KNOWN_KEYS)}`)
    }
  }

  const integer = (key: keyof PoolOptions, min: number, allowInfinity = false): number => {
    const value = options[key] ?? POOL_DEFAULTS[key as keyof typeof POOL_DEFAULTS]
    if (allowInfinity && value === Infinity) {
      return Infinity
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      problems.push(`${key} must be an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}, got ${describeValue(value)}`)
      return min
    }
    if (key.endsWith('Millis') && value > MAX_TIMER_MILLIS) {
      problems.push(`${key} must be at most ${MAX_TIMER_MILLIS} (about 24.8 days), got ${value}`)
    }
    return value
  }

  const min = integer('min', 0)
  const max = integer('max', 1)
  if (min > max) {
    problems.push(`min (${min}) must not be greater than max (${max})`)
  }

  const reset = options.reset ?? POOL_DEFAULTS.reset
  if (!RESET_POLICIES.includes(reset)) {
    problems.push(`reset must be one of ${RESET_POLICIES.map((p) => `'${p}'`).join(', ')}, got ${describeValue(reset)}`)
  }

  const name = options.name ?? `pool-${++poolCounter}`
  if (typeof name !== 'string' || name.length === 0) {
    problems.push(`name must be a non-empty string, got ${describeValue(name)}`)
  }

  const config: PoolConfig = {
    min,
    max,
    acquireTimeoutMillis: integer('acquireTimeoutMillis', 1),
    maxWaiting: integer('maxWaiting', 0, true),
    createTimeoutMillis: integer('createTimeoutMillis', 1),
    idleTimeoutMillis: integer('idleTimeoutMillis', 0),
    maxLifetimeMillis: integer('maxLifetimeMillis', 0),
    validateAfterIdleMillis: integer('validateAfterIdleMillis', 0),
    leakDetectionMillis: integer('leakDetectionMillis', 0),
    maxLeaseMillis: integer('maxLeaseMillis', 0),
    reset,
    name,
  }

  if (problems.length > 0) {
    throw new PoolConfigError(problems)
  }
  return Object.freeze(config)
}
