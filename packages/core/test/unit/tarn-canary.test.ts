import { describe, expect, it } from 'vitest'
import { TarnPool } from '../../src/pool/tarn-pool.js'

// TarnPool reaches into tarn's protected internals. If a tarn release
// renames or reshapes them, this fails before the pool misbehaves.
describe("tarn's internals that TarnPool relies on", () => {
  it('free/used lists, _create, _destroy, _startReaping and interval behave as TarnPool expects', async () => {
    const destroyed: number[] = []
    let next = 0
    const pool = new TarnPool<number>({
      create: async () => ++next,
      destroy: (n) => void destroyed.push(n),
      min: 0,
      max: 2,
    })
    expect(await pool.createOne()).toBe(1)
    expect(pool.numFree()).toBe(1)
    expect(pool.takeIdle()).toBe(1)
    expect([pool.numFree(), pool.numUsed()]).toEqual([0, 1])
    expect(pool.usedResources()).toEqual([1])
    pool.releaseResource(1)
    expect([pool.numFree(), pool.numUsed()]).toEqual([1, 0])
    expect(pool.idleResources()).toEqual([1])
    expect(pool.evict(1)).toBe(true)
    expect(pool.evict(1)).toBe(false)
    await expect.poll(() => destroyed).toEqual([1])
    expect(pool.numFree() + pool.numUsed()).toBe(0)
    // takeIdle starts tarn's reaper; TarnPool unrefs its interval.
    await pool.createOne()
    pool.takeIdle()
    const interval = (pool as unknown as { interval: NodeJS.Timeout | null }).interval
    expect(interval).not.toBeNull()
    expect(interval!.hasRef()).toBe(false)
    pool.releaseResource(2)
    await pool.destroy()
    expect(pool.isDestroyed).toBe(true)
    expect(destroyed).toEqual([1, 2])
  })
})
