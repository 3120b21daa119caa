import { describe, expect, it } from 'vitest'
import { POOL_DEFAULTS, PoolConfigError, resolvePoolOptions, type PoolOptions } from '../../src/index.js'
import { closestOption, suggestOption } from '../../src/pool/suggest-option.js'

const KNOWN = [...Object.keys(POOL_DEFAULTS), 'name']

function problemsFor(options: Record<string, unknown>): readonly string[] {
  try {
    resolvePoolOptions(options as PoolOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(PoolConfigError)
    return (error as PoolConfigError).problems
  }
  throw new Error('expected a PoolConfigError')
}

describe('unknown pool options: suggestions', () => {
  it.each([
    // [what the user wrote, our option]
    ['connectionLimit', 'max'], // mysql2
    ['queueLimit', 'maxWaiting'],
    ['waitForConnections', 'maxWaiting'],
    ['idleTimeout', 'idleTimeoutMillis'], // mysql2 and HikariCP
    ['connectionTimeoutMillis', 'acquireTimeoutMillis'], // pg-pool
    ['maxLifetimeSeconds', 'maxLifetimeMillis'],
    ['maximumPoolSize', 'max'], // HikariCP
    ['minimumIdle', 'min'],
    ['connectionTimeout', 'acquireTimeoutMillis'],
    ['maxLifetime', 'maxLifetimeMillis'],
    ['leakDetectionThreshold', 'leakDetectionMillis'],
    ['keepaliveTime', 'validateAfterIdleMillis'],
    ['poolName', 'name'],
    ['maxWaitingClients', 'maxWaiting'], // generic-pool
  ])('another pool\'s "%s" is "%s" here', (theirs, ours) => {
    expect(suggestOption(theirs, KNOWN)).toContain(`"${theirs}" is "${ours}" here`)
  })

  it('names whose pool it is, and warns where the meaning differs', () => {
    expect(suggestOption('connectionLimit', KNOWN)).toBe(` (mysql2's "connectionLimit" is "max" here)`)
    expect(suggestOption('queueLimit', KNOWN)).toMatch(/0 means fail fast here, not unlimited/)
    expect(suggestOption('maximumPoolSize', KNOWN)).toMatch(/^ \(HikariCP's /)
  })

  it.each(['maxIdle', 'enableKeepAlive', 'propagateCreateError', 'validationTimeout'])(
    '"%s" has no equivalent here, and says what to do instead',
    (theirs) => {
      expect(suggestOption(theirs, KNOWN)).toMatch(new RegExp(`"${theirs}" has no equivalent here; .{10,}\\)$`))
    },
  )

  it('maxLifetime suggests maxLifetimeMillis, never max, whether or not the alias table knows it', () => {
    expect(suggestOption('maxLifetime', KNOWN)).toContain('"maxLifetimeMillis"')
    expect(closestOption('maxLifetime', KNOWN)).toBe('maxLifetimeMillis')
    expect(closestOption('maxlifetime', KNOWN)).toBe('maxLifetimeMillis')
  })

  it.each([
    ['acquireTimeout', 'acquireTimeoutMillis'],
    ['acquireTimeoutMs', 'acquireTimeoutMillis'],
    ['idle_timeout_millis', 'idleTimeoutMillis'],
    ['maxWaitng', 'maxWaiting'],
    ['mxa', 'max'],
    ['rest', 'reset'],
    ['leakDetectonMillis', 'leakDetectionMillis'],
    ['Min', 'min'],
  ])('a typo "%s" suggests "%s"', (typo, ours) => {
    expect(suggestOption(typo, KNOWN)).toBe(` (did you mean "${ours}"?)`)
  })

  it.each(['m', 'frobnicate', 'maxConnectionsPerHost', 'timeout', ''])(
    '"%s" gets no suggestion rather than a wrong one',
    (key) => {
      expect(suggestOption(key, KNOWN)).toBe('')
    },
  )

  it('an alias to an option this pool does not know is not offered', () => {
    expect(suggestOption('connectionLimit', ['min', 'name'])).toBe('')
  })

  it('resolvePoolOptions lists every unknown option with its hint, and the bad values, at once', () => {
    expect(problemsFor({ connectionLimit: 5, maxLifetime: 60_000, acquireTimeout: 5, max: 0 })).toEqual([
      `unknown option "connectionLimit" (mysql2's "connectionLimit" is "max" here)`,
      `unknown option "maxLifetime" (HikariCP's "maxLifetime" is "maxLifetimeMillis" here)`,
      'unknown option "acquireTimeout" (did you mean "acquireTimeoutMillis"?)',
      'max must be an integer >= 1, got 0',
    ])
  })
})
