import { afterEach, describe, expect, it, vi } from 'vitest'
import { createPool, POOL_DEFAULTS, type Pool, type PoolLogEntry } from '../../src/index.js'
import { FakeConnector, type FakeConnection } from '../support/fake-connector.js'

const pools: Pool<FakeConnection>[] = []

afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(pools.splice(0).map((pool) => pool.destroy({ graceMillis: 0 })))
})

describe('leak detection with default options', () => {
  it('is on, at a threshold no healthy request reaches', () => {
    expect(POOL_DEFAULTS.leakDetectionMillis).toBe(60_000)
  })

  it('warns, naming the acquire site, about a lease held past a minute', async () => {
    vi.useFakeTimers()
    const logged: PoolLogEntry[] = []
    const pool = createPool(new FakeConnector(), { log: (entry) => logged.push(entry) })
    pools.push(pool)
    const lease = await pool.acquire()
    await vi.advanceTimersByTimeAsync(55_000)
    expect(logged).toEqual([])
    await vi.advanceTimersByTimeAsync(10_000)
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({ level: 'warn', code: 'KYSELY_POOLED_LEAK' })
    expect(logged[0]?.message).toMatch(
      /lease #1 held for \d+ ms \(leakDetectionMillis 60000\), acquired at .*leak-detection-default\.test\.ts/,
    )
    expect(pool.stats().leaks).toBe(1)
    await lease.release()
  })

  it('captures every acquire site once leakDetectionMillis is set explicitly', async () => {
    const pool = createPool(new FakeConnector(), { max: 50, leakDetectionMillis: 60_000 })
    pools.push(pool)
    const leases = await Promise.all(Array.from({ length: 50 }, () => pool.acquire()))
    expect(pool.holders().every((holder) => holder.acquiredAt?.includes('leak-detection-default.test.ts'))).toBe(true)
    await Promise.all(leases.map((lease) => lease.release()))
  })

  it('captures nothing with leakDetectionMillis 0', async () => {
    const pool = createPool(new FakeConnector(), { leakDetectionMillis: 0 })
    pools.push(pool)
    const lease = await pool.acquire()
    expect(pool.holders()[0]?.stack).toBeUndefined()
    await lease.release()
  })
})
