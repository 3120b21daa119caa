import { describe, expect, it } from 'vitest'
import { createPool, POOL_DEFAULTS, PoolConfigError, resolvePoolOptions, type PoolOptions } from '../../src/index.js'
import { FakeConnector } from '../support/fake-connector.js'

describe('pool options', () => {
  it('fills in the documented defaults and freezes the config', () => {
    const config = resolvePoolOptions({ name: 'orders' })
    expect(config).toEqual({ ...POOL_DEFAULTS, name: 'orders', captureEveryAcquireSite: false })
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('captures every acquire site only when leakDetectionMillis is set explicitly', () => {
    expect(resolvePoolOptions({}).captureEveryAcquireSite).toBe(false)
    expect(resolvePoolOptions({ leakDetectionMillis: 60_000 }).captureEveryAcquireSite).toBe(true)
  })

  it.each<[string, PoolOptions, string]>([
    ['max below 1', { max: 0 }, 'max must be an integer >= 1, got 0'],
    ['fractional max', { max: 2.5 }, 'max must be an integer >= 1, got 2.5'],
    ['negative min', { min: -1 }, 'min must be an integer >= 0, got -1'],
    ['min above max', { min: 5, max: 2 }, 'min (5) must not be greater than max (2)'],
    ['zero acquire timeout', { acquireTimeoutMillis: 0 }, 'acquireTimeoutMillis must be an integer >= 1, got 0'],
    ['string timeout', { acquireTimeoutMillis: '100' as unknown as number }, 'got "100"'],
    ['NaN', { idleTimeoutMillis: Number.NaN }, 'idleTimeoutMillis must be an integer >= 0, got NaN'],
    ['negative maxWaiting', { maxWaiting: -1 }, 'maxWaiting must be an integer >= 0 or Infinity, got -1'],
    ['timer overflow', { maxLeaseMillis: 2 ** 31 }, 'maxLeaseMillis must be at most 2147483647'],
    ['bad reset', { reset: 'sometimes' as 'auto' }, `reset must be one of 'auto', 'always', 'never', got "sometimes"`],
    ['empty name', { name: '' }, 'name must be a non-empty string'],
    [
      'unknown key',
      { acquireTimeout: 5 } as PoolOptions,
      'unknown option "acquireTimeout" (did you mean "acquireTimeoutMillis"?)',
    ],
  ])('rejects %s', (_case, options, message) => {
    expect(() => resolvePoolOptions(options)).toThrow(PoolConfigError)
    expect(() => resolvePoolOptions(options)).toThrow(message)
  })

  it('reports every bad field at once, one problem each', () => {
    const error = (() => {
      try {
        resolvePoolOptions({ max: 0, createTimeoutMillis: -5, reset: 'no' as 'auto' })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(PoolConfigError)
    expect((error as PoolConfigError).code).toBe('POOL_CONFIG')
    expect((error as PoolConfigError).problems).toHaveLength(3)
  })

  it('accepts Infinity for maxWaiting and 0 for the optional features', () => {
    const config = resolvePoolOptions({ maxWaiting: Infinity, maxLifetimeMillis: 0, validateAfterIdleMillis: 0 })
    expect(config.maxWaiting).toBe(Infinity)
  })

  it('validates at construction', () => {
    expect(() => createPool(new FakeConnector(), { max: -1 })).toThrow(PoolConfigError)
  })
})
