import { describe, expect, it } from 'vitest'
import { PoolError } from '../../src/errors/pool-error.js'
import {
  DEFAULT_HEADROOM_RATIO,
  PoolSizingError,
  recommendPoolSize,
  type PoolSizeInput,
} from '../../src/sizing/recommend-pool-size.js'

describe('recommendPoolSize', () => {
  const cases: Array<{
    name: string
    input: PoolSizeInput
    max: number
    budget: number
    total: number
    processes: number
  }> = [
    {
      name: 'one process gets the whole budget',
      input: { serverMaxConnections: 100, headroomRatio: 0 },
      max: 100,
      budget: 100,
      total: 100,
      processes: 1,
    },
    {
      name: 'reserved slots come off first',
      input: { serverMaxConnections: 100, reservedConnections: 3, headroomRatio: 0 },
      max: 97,
      budget: 97,
      total: 97,
      processes: 1,
    },
    {
      name: 'processes share the budget, rounding down',
      input: { serverMaxConnections: 100, reservedConnections: 3, processes: 4, headroomRatio: 0 },
      max: 24,
      budget: 97,
      total: 96,
      processes: 4,
    },
    {
      name: 'hosts multiply processes',
      input: { serverMaxConnections: 100, reservedConnections: 3, processes: 4, hosts: 3, headroomRatio: 0 },
      max: 8,
      budget: 97,
      total: 96,
      processes: 12,
    },
    {
      name: 'concurrent queries cap the share (aim low)',
      input: { serverMaxConnections: 151, processes: 2, concurrentQueries: 5, headroomRatio: 0 },
      max: 5,
      budget: 151,
      total: 10,
      processes: 2,
    },
    {
      name: 'a concurrency above the share does not raise it',
      input: { serverMaxConnections: 20, processes: 4, concurrentQueries: 50, headroomRatio: 0 },
      max: 5,
      budget: 20,
      total: 20,
      processes: 4,
    },
    {
      name: 'headroom rounds up, budget down',
      input: { serverMaxConnections: 100, reservedConnections: 3, headroomRatio: 0.1 },
      max: 87,
      budget: 87,
      total: 87,
      processes: 1,
    },
    {
      name: 'a command-line tool: one query at a time, one connection',
      input: { serverMaxConnections: 100, concurrentQueries: 1, headroomRatio: 0 },
      max: 1,
      budget: 100,
      total: 1,
      processes: 1,
    },
    {
      name: 'exactly one connection per process fits',
      input: { serverMaxConnections: 10, reservedConnections: 2, processes: 8, headroomRatio: 0 },
      max: 1,
      budget: 8,
      total: 8,
      processes: 8,
    },
  ]

  it.each(cases)('$name', ({ input, max, budget, total, processes }) => {
    const r = recommendPoolSize(input)
    expect(r).toMatchObject({ max, budget, total, processes })
    expect(r.total).toBeLessThanOrEqual(r.budget)
    expect(r.max).toBeGreaterThanOrEqual(1)
  })

  it('shows the arithmetic line by line', () => {
    const r = recommendPoolSize({
      serverMaxConnections: 100,
      reservedConnections: 3,
      processes: 4,
      hosts: 2,
      concurrentQueries: 10,
      headroomRatio: 0.1,
    })
    expect(r.max).toBe(10)
    const text = r.arithmetic.join('\n')
    expect(text).toMatch(/max_connections\s+100/)
    expect(text).toMatch(/reserved\s+3/)
    expect(text).toMatch(/headroom 10 % of 97\s+10/)
    expect(text).toMatch(/budget for the application\s+87/)
    expect(text).toContain('8 pools (4 processes × 2 hosts)')
    expect(text).toContain('= 10 per process (floor 87 / 8)')
    expect(text).toContain('10 × 8 = 80 <= budget 87')
    expect(r.arithmetic.length).toBeGreaterThanOrEqual(5)
  })

  it('leaves out the cap line when concurrency does not bind', () => {
    const r = recommendPoolSize({ serverMaxConnections: 10, processes: 2, concurrentQueries: 9, headroomRatio: 0 })
    expect(r.max).toBe(5)
    expect(r.arithmetic.join('\n')).not.toContain('capped')
  })

  it('holds back 10 % by default (DEFAULT_HEADROOM_RATIO), the same default as kysely-pooled doctor', () => {
    expect(DEFAULT_HEADROOM_RATIO).toBe(0.1)
    const r = recommendPoolSize({ serverMaxConnections: 100, reservedConnections: 10, processes: 4, hosts: 3 })
    // (100 - 10) - ceil(9) = 81; floor(81 / 12) = 6
    expect(r).toMatchObject({ budget: 81, max: 6, total: 72 })
    expect(r.arithmetic.join('\n')).toMatch(/headroom 10 % of 90\s+9/)
    expect(
      recommendPoolSize({
        serverMaxConnections: 100,
        reservedConnections: 10,
        processes: 4,
        hosts: 3,
        headroomRatio: 0,
      }).max,
    ).toBe(7)
  })

  it('returns a frozen result', () => {
    const r = recommendPoolSize({ serverMaxConnections: 10 })
    expect(Object.isFrozen(r)).toBe(true)
    expect(Object.isFrozen(r.arithmetic)).toBe(true)
  })

  const refusals: Array<{ name: string; input: PoolSizeInput; message: RegExp }> = [
    {
      name: 'more processes than the budget',
      input: { serverMaxConnections: 100, reservedConnections: 3, processes: 50, hosts: 2, headroomRatio: 0 },
      message: /budget of 97 connections .* cannot give each of 100 pools/,
    },
    {
      name: 'reserved eats everything',
      input: { serverMaxConnections: 5, reservedConnections: 5, headroomRatio: 0 },
      message: /budget of 0 connections/,
    },
    {
      name: 'reserved above the cap',
      input: { serverMaxConnections: 5, reservedConnections: 9, headroomRatio: 0 },
      message: /budget of 0 connections/,
    },
    {
      name: 'headroom pushes it under',
      input: { serverMaxConnections: 10, processes: 10, headroomRatio: 0.05 },
      message: /budget of 9 connections .* headroom 1/,
    },
    {
      name: 'non-integer max_connections',
      input: { serverMaxConnections: 10.5, headroomRatio: 0 },
      message: /serverMaxConnections must be an integer >= 1, got 10.5/,
    },
    {
      name: 'zero max_connections',
      input: { serverMaxConnections: 0, headroomRatio: 0 },
      message: /serverMaxConnections must be an integer >= 1, got 0/,
    },
    {
      name: 'negative reserved',
      input: { serverMaxConnections: 10, reservedConnections: -1, headroomRatio: 0 },
      message: /reservedConnections must be an integer >= 0, got -1/,
    },
    {
      name: 'zero processes',
      input: { serverMaxConnections: 10, processes: 0, headroomRatio: 0 },
      message: /processes must be an integer >= 1/,
    },
    {
      name: 'fractional hosts',
      input: { serverMaxConnections: 10, hosts: 1.5, headroomRatio: 0 },
      message: /hosts must be an integer >= 1/,
    },
    {
      name: 'zero concurrent queries',
      input: { serverMaxConnections: 10, concurrentQueries: 0, headroomRatio: 0 },
      message: /concurrentQueries must be an integer >= 1/,
    },
    {
      name: 'headroom of 100 %',
      input: { serverMaxConnections: 10, headroomRatio: 1 },
      message: /headroomRatio must be a number from 0/,
    },
    {
      name: 'NaN headroom',
      input: { serverMaxConnections: 10, headroomRatio: Number.NaN },
      message: /headroomRatio .* got NaN/,
    },
    {
      name: 'a string where a number belongs',
      input: { serverMaxConnections: '100' as unknown as number },
      message: /got "100"/,
    },
  ]

  it.each(refusals)('refuses: $name', ({ input, message }) => {
    let caught: unknown
    try {
      recommendPoolSize(input)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(PoolSizingError)
    expect(caught).toBeInstanceOf(PoolError)
    const error = caught as PoolSizingError
    expect(error.code).toBe('POOL_SIZING')
    expect(error.name).toBe('PoolSizingError')
    expect(error.message).toMatch(message)
  })

  it('reports every bad field at once', () => {
    let caught: unknown
    try {
      recommendPoolSize({ serverMaxConnections: -1, processes: 0, hosts: Number.NaN })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(PoolSizingError)
    expect((caught as PoolSizingError).problems).toHaveLength(3)
  })
})
