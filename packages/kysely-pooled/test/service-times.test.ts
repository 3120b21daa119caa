import { describe, expect, it } from 'vitest'
import { SLOW_MILLIS, ServiceTimes } from '../src/postgres/service-times.js'

// What pipeline: true learns of each statement text decides where it runs:
// shared (pipelined) or, once slow, on a connection of its own.
describe('ServiceTimes', () => {
  it('takes a new text for fast, and two slow runs in a row for slow', () => {
    const times = new ServiceTimes()
    const text = 'select pg_sleep(0.05)'
    const profile = times.profile(text)
    expect(profile.millis).toBeLessThan(SLOW_MILLIS)
    expect(times.isSlow(profile)).toBe(false)
    times.record(profile, 50)
    expect(times.isSlow(profile)).toBe(false)
    times.record(profile, 50)
    expect(times.isSlow(profile)).toBe(true)
    // The same text, the same profile: what the router and the dispatcher learn meets in one place.
    expect(times.profile(text)).toBe(profile)
    // New texts are never slow (they are shared first, and learned from that run).
    expect(times.isSlow(times.profile('select 1'))).toBe(false)
  })

  it('does not take stalled answers (a GC pause, a descheduled process) apart for a slow text', () => {
    const times = new ServiceTimes()
    const profile = times.profile('select 1')
    // Under CPU load a fast statement now and then takes 10–25 ms on the client's clock.
    for (let i = 0; i < 100; i++) times.record(profile, i % 7 === 3 ? 25 : 0.2)
    expect(times.isSlow(profile)).toBe(false)
  })

  it('shares a text again after its first fast run', () => {
    const times = new ServiceTimes()
    const profile = times.profile('select * from report')
    times.record(profile, 40)
    times.record(profile, 40)
    times.record(profile, 40)
    expect(times.isSlow(profile)).toBe(true)
    times.record(profile, 0.3)
    expect(times.isSlow(profile)).toBe(false)
  })

  it('remembers a bounded number of texts', () => {
    const times = new ServiceTimes()
    const first = times.profile('select 0')
    times.record(first, 100)
    times.record(first, 100)
    expect(times.isSlow(first)).toBe(true)
    for (let i = 1; i <= 2_000; i++) times.profile(`select ${i}`)
    // Forgotten with the rest when the limit was reached: new again, so not slow.
    expect(times.profile('select 0')).not.toBe(first)
    expect(times.isSlow(times.profile('select 0'))).toBe(false)
  })
})
