import { describe, expect, it } from 'vitest'
import { SLOW_MILLIS, ServiceTimes } from '../src/postgres/service-times.js'

// What pipeline: true learns of each statement text decides where it runs:
// shared (pipelined) or, once slow, on a connection of its own.
describe('ServiceTimes', () => {
  it('takes a new text for fast, and one slow run for slow', () => {
    const times = new ServiceTimes()
    const profile = times.profile('select pg_sleep(0.05)')
    expect(profile.millis).toBeLessThan(SLOW_MILLIS)
    expect(times.isSlow('select pg_sleep(0.05)')).toBe(false)
    times.record(profile, 50)
    expect(times.isSlow('select pg_sleep(0.05)')).toBe(true)
    // Unknown texts are never slow (they are shared first, and learned from that run).
    expect(times.isSlow('select 1')).toBe(false)
  })

  it('does not take one stalled answer (a GC pause) for a slow text', () => {
    const times = new ServiceTimes()
    const profile = times.profile('select 1')
    for (let i = 0; i < 20; i++) times.record(profile, 0.1)
    times.record(profile, 2 * SLOW_MILLIS - 1)
    expect(times.isSlow('select 1')).toBe(false)
  })

  it('shares a text again once its runs turn fast', () => {
    const times = new ServiceTimes()
    const profile = times.profile('select * from report')
    times.record(profile, 40)
    let runs = 0
    while (times.isSlow('select * from report')) {
      times.record(profile, 0.2)
      runs++
    }
    expect(runs).toBeGreaterThan(3)
    expect(runs).toBeLessThan(30)
  })

  it('remembers a bounded number of texts', () => {
    const times = new ServiceTimes()
    const first = times.profile('select 0')
    times.record(first, 100)
    for (let i = 1; i <= 2_000; i++) times.profile(`select ${i}`)
    // Forgotten with the rest when the limit was reached: unknown again, so not slow.
    expect(times.isSlow('select 0')).toBe(false)
  })
})
