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
export interface PoolOptions<C = unknown> {
  /**
   * Idle connections kept warm, created in parallel at start.
   * @default 0
   */
  readonly min?: number
  /**
   * Hard cap on open connections (leased + idle + being opened).
   * @default 10
   */
  readonly max?: number
  /**
   * Longest time a caller queues for a connection before `PoolTimeoutError`.
   * @default 10000
   */
  readonly acquireTimeoutMillis?: number
  /**
   * Longest queue; beyond it `PoolQueueFullError` at once. `0` fails fast. `Infinity` is unbounded.
   * @default 1000
   */
  readonly maxWaiting?: number
  /**
   * Longest time one connection attempt may take.
   * @default 5000
   */
  readonly createTimeoutMillis?: number
  /**
   * Idle connections above `min` are closed after this. `0` keeps them.
   * @default 30000
   */
  readonly idleTimeoutMillis?: number
  /**
   * Connections are retired after this age (minus up to 2.5 % jitter), never while leased.
   * @default 1800000 (30 minutes)
   */
  readonly maxLifetimeMillis?: number
  /**
   * A connection idle longer than this is pinged before it is handed out.
   * @default 5000
   */
  readonly validateAfterIdleMillis?: number
  /**
   * A lease held longer than this is reported (`'leak'` event, or a warning
   * in the log, with the acquire site). On by default at a minute, longer
   * than any healthy request holds a connection. Left at the default, acquire
   * sites are sampled (every acquire of a quiet pool, about one a second of a
   * busy one, at most 0.1 % of its time; Kysely transactions
   * always record where they began); set it explicitly to capture every one.
   * @default 60000 (a minute)
   */
  readonly leakDetectionMillis?: number
  /**
   * A lease held longer than this is revoked: rolled back, reclaimed, later use throws.
   * @default 0 (off)
   */
  readonly maxLeaseMillis?: number
  /**
   * Session-state policy on release.
   * @default 'auto'
   */
  readonly reset?: ResetPolicy
  /**
   * Pool name for stats, errors and metrics.
   * @default `pool-N`
   */
  readonly name?: string
  /**
   * A connection is closed after this many leases (`0`: no limit), like pg-pool's `maxUses`.
   * @default 0 (no limit)
   */
  readonly maxUses?: number
  /**
   * Idle connections (and the pool's timers) do not keep the process alive,
   * like pg-pool's option of the same name: a script can end without `destroy()`.
   * @default false
   */
  readonly allowExitOnIdle?: boolean
  /**
   * Longest time a release may spend cleaning a connection (cancelling a
   * statement still running, rolling back, resetting the session); past it
   * the connection is closed instead, its socket destroyed.
   * @default 2000
   */
  readonly cleanupTimeoutMillis?: number
  /**
   * Runs once on every new connection before anyone gets it (and again after
   * a session reset, which undoes it). What it sets up is the session's
   * baseline: it never makes a release reset the session.
   * @default none
   */
  readonly onConnect?: (connection: C) => void | Promise<void>
  /**
   * Where errors and warnings go that no `'error'` / `'leak'` / `'revoke'` listener hears.
   * @default `process.emitWarning`
   */
  readonly log?: PoolLogger
}

/** One line the pool could not hand to an event listener. */
export interface PoolLogEntry {
  readonly level: 'warn' | 'error'
  /** The pool's name. */
  readonly pool: string
  /** A warning code: `KYSELY_POOLED_ERROR`, `KYSELY_POOLED_LEAK`, `KYSELY_POOLED_REVOKE`. */
  readonly code: string
  readonly message: string
  readonly error?: Error
}

export type PoolLogger = (entry: PoolLogEntry) => void

/** The validated, frozen configuration a pool runs with. */
export interface PoolConfig<C = unknown> {
  readonly min: number
  readonly max: number
  readonly acquireTimeoutMillis: number
  readonly maxWaiting: number
  readonly createTimeoutMillis: number
  readonly idleTimeoutMillis: number
  readonly maxLifetimeMillis: number
  readonly validateAfterIdleMillis: number
  readonly leakDetectionMillis: number
  /**
   * `leakDetectionMillis` was set explicitly: every acquire records its site.
   * Left at the default, sites are sampled (see `leakDetectionMillis`).
   */
  readonly captureEveryAcquireSite: boolean
  readonly maxLeaseMillis: number
  readonly reset: ResetPolicy
  readonly name: string
  readonly maxUses: number
  readonly allowExitOnIdle: boolean
  readonly cleanupTimeoutMillis: number
  readonly onConnect: ((connection: C) => void | Promise<void>) | undefined
  readonly log: PoolLogger | undefined
}

/**
 * The defaults. They follow the sizing advice: few connections (`max` 10 is
 * an upper bound, not a target), no idle connections kept open by default,
 * and a short queue wait, because a queued caller is a user waiting.
 */
export const POOL_DEFAULTS: Readonly<Omit<PoolConfig, 'name' | 'onConnect' | 'log' | 'captureEveryAcquireSite'>> =
  Object.freeze({
    min: 0,
    max: 10,
    acquireTimeoutMillis: 10_000,
    maxWaiting: 1_000,
    createTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    maxLifetimeMillis: 30 * 60_000,
    validateAfterIdleMillis: 5_000,
    leakDetectionMillis: 60_000,
    maxLeaseMillis: 0,
    reset: 'auto',
    maxUses: 0,
    allowExitOnIdle: false,
    cleanupTimeoutMillis: 2_000,
  })

const RESET_POLICIES: readonly ResetPolicy[] = ['auto', 'always', 'never']
const KNOWN_KEYS = new Set<string>([...Object.keys(POOL_DEFAULTS), 'name', 'onConnect', 'log'])

// Timers cannot wait longer than this (about 24.8 days); a longer setting
// would fire at once.
export const MAX_TIMER_MILLIS = 2 ** 31 - 1

let poolCounter = 0

/**
 * Validates options and returns the frozen config. Every problem is
 * reported at once, one line per field, so a user fixes them in one go.
 */
export function resolvePoolOptions<C = unknown>(options: PoolOptions<C> = {}): PoolConfig<C> {
  const problems: string[] = []

  if (options === null || typeof options !== 'object') {
    throw new PoolConfigError([`options must be an object, got ${describeValue(options)}`])
  }

  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      problems.push(`unknown option "${key}"${suggestOption(key, KNOWN_KEYS)}`)
    }
  }

  const integer = (key: keyof PoolOptions<C>, min: number, allowInfinity = false): number => {
    const value = options[key] ?? POOL_DEFAULTS[key as keyof typeof POOL_DEFAULTS]
    if (allowInfinity && value === Infinity) {
      return Infinity
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      problems.push(
        `${key} must be an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}, got ${describeValue(value)}`,
      )
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

  const allowExitOnIdle = options.allowExitOnIdle ?? POOL_DEFAULTS.allowExitOnIdle
  if (typeof allowExitOnIdle !== 'boolean') {
    problems.push(`allowExitOnIdle must be a boolean, got ${describeValue(allowExitOnIdle)}`)
  }
  for (const hook of ['onConnect', 'log'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      problems.push(`${hook} must be a function, got ${describeValue(options[hook])}`)
    }
  }

  const config: PoolConfig<C> = {
    min,
    max,
    acquireTimeoutMillis: integer('acquireTimeoutMillis', 1),
    maxWaiting: integer('maxWaiting', 0, true),
    createTimeoutMillis: integer('createTimeoutMillis', 1),
    idleTimeoutMillis: integer('idleTimeoutMillis', 0),
    maxLifetimeMillis: integer('maxLifetimeMillis', 0),
    validateAfterIdleMillis: integer('validateAfterIdleMillis', 0),
    leakDetectionMillis: integer('leakDetectionMillis', 0),
    captureEveryAcquireSite: options.leakDetectionMillis !== undefined,
    maxLeaseMillis: integer('maxLeaseMillis', 0),
    reset,
    name,
    maxUses: integer('maxUses', 0),
    allowExitOnIdle,
    cleanupTimeoutMillis: integer('cleanupTimeoutMillis', 1),
    onConnect: options.onConnect,
    log: options.log,
  }

  if (problems.length > 0) {
    throw new PoolConfigError(problems)
  }
  return Object.freeze(config)
}
