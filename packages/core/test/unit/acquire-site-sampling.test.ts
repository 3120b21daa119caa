import { describe, expect, it } from 'vitest'
import { AcquireSites } from '../../src/pool/acquire-site.js'

// `now` is the caller's clock reading: every case runs on chosen times, no clock.
function sampler(): (now: number) => boolean {
  const sites = new AcquireSites(60_000, false)
  return (now) => sites.site(undefined, sampler, now) !== undefined
}

describe('acquire sites sampled by count (leakDetectionMillis left at its default)', () => {
  it('captures every acquire of a quiet pool', () => {
    const captured = sampler()
    const times = Array.from({ length: 20 }, (_, i) => i * 1_500)
    expect(times.map(captured)).toEqual(times.map(() => true))
  })

  it('captures a busy pool rarely, never more than 16,384 acquires apart, the same way every run', () => {
    const runs = [0, 1].map(() => {
      const captured = sampler()
      const at: number[] = []
      for (let i = 0; i < 200_000; i++) {
        // 200,000 acquires within one second.
        if (captured(i / 200_000)) at.push(i)
      }
      return at
    })
    expect(runs[0]).toEqual(runs[1])
    const at = runs[0]!
    expect(at[0]).toBe(0)
    // Under 0.1 % of acquires, while a capture costs about as much as ten pairs.
    expect(at.length).toBeLessThan(200)
    const gaps = at.slice(1).map((i, k) => i - at[k]!)
    expect(Math.max(...gaps)).toBeLessThanOrEqual(16_385)
    expect(200_000 - at.at(-1)!).toBeLessThanOrEqual(16_385)
  })

  it('settles at about one capture a second at a steady 100 acquires a second', () => {
    const captured = sampler()
    let count = 0
    for (let i = 0; i < 6_000; i++) {
      if (captured(i * 10) && i >= 3_000) count++
    }
    // The last 30 seconds, once the skip has adapted.
    expect(count).toBeGreaterThanOrEqual(15)
    expect(count).toBeLessThanOrEqual(60)
  })

  it('always captures the first acquire after a quiet second', () => {
    const captured = sampler()
    for (let i = 0; i < 50_000; i++) captured(i / 100_000)
    expect(captured(0.5)).toBe(false)
    expect(captured(1_500)).toBe(true)
  })

  it('captures every acquire when leakDetectionMillis is explicit, none when it is 0', () => {
    const every = new AcquireSites(60_000, true)
    const off = new AcquireSites(0, true)
    for (let i = 0; i < 1_000; i++) {
      expect(every.site(undefined, sampler, 0)).toBeDefined()
      expect(off.site(undefined, sampler, 0)).toBeUndefined()
    }
  })

  it("keeps a caller's own site", () => {
    const sites = new AcquireSites(60_000, false)
    const given = { stack: 'given' }
    for (let i = 0; i < 100; i++) {
      expect(sites.site(given, sampler, 0)).toBe(given)
    }
  })
})
