import type { PoolStats } from './pool-stats.js'
import { TimeRecorder } from './time-figures.js'

/** The gauges `stats()` reads from the pool's lists at the moment it is called. */
export interface PoolGauges {
  readonly name: string
  readonly min: number
  readonly max: number
  readonly idle: number
  readonly used: number
  readonly pending: number
  readonly creating: number
}

/**
 * The pool's counters and time figures. Plain public fields so that the hot
 * path is an increment; only `snapshot()` builds anything.
 */
export class PoolMetrics {
  acquires = 0
  timeouts = 0
  queueFull = 0
  aborted = 0
  created = 0
  destroyed = 0
  createErrors = 0
  rolledBack = 0
  reset = 0
  leaks = 0
  revoked = 0
  reclaimed = 0
  readonly waitTimes = new TimeRecorder()
  readonly useTimes = new TimeRecorder()
  readonly createTimes = new TimeRecorder()

  snapshot(gauges: PoolGauges): PoolStats {
    return Object.freeze({
      ...gauges,
      size: gauges.idle + gauges.used,
      acquires: this.acquires,
      timeouts: this.timeouts,
      queueFull: this.queueFull,
      aborted: this.aborted,
      created: this.created,
      destroyed: this.destroyed,
      createErrors: this.createErrors,
      rolledBackOnRelease: this.rolledBack,
      resetOnRelease: this.reset,
      leaks: this.leaks,
      revoked: this.revoked,
      reclaimed: this.reclaimed,
      waitMillis: this.waitTimes.figures(),
      useMillis: this.useTimes.figures(),
      createMillis: this.createTimes.figures(),
    })
  }
}
