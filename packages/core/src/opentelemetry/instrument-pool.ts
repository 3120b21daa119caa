import {
  metrics,
  ValueType,
  type BatchObservableCallback,
  type Histogram,
  type MeterProvider,
} from '@opentelemetry/api'
import type { PoolEventListener, PoolEventName } from '../pool/pool-events.js'
import type { InstrumentablePool } from './instrumentable-pool.js'
import { DURATION_BUCKETS_SECONDS, POOL_METRICS, POOL_NAME_ATTRIBUTE, STATE_ATTRIBUTE } from './metric-names.js'

export interface InstrumentPoolOptions {
  /** Where the instruments are created. Default: the global provider (`metrics.getMeterProvider()`). */
  readonly meterProvider?: MeterProvider
}

/** What `instrumentPool` returns: undoes the registration. */
export interface PoolInstrumentation {
  /** Removes the pool's listeners and observable callbacks. Idempotent. */
  unregister(): void
}

const METER_NAME = '@kysely-pooled/core'

/**
 * Records a pool's OpenTelemetry `db.client.connection.*` metrics, each
 * with `db.client.connection.pool.name` = `pool.name`:
 *
 * - gauges read from `pool.stats()` at each collection: `count` (by
 *   `db.client.connection.state` = `idle` | `used`), `idle.max`, `idle.min`,
 *   `max`, `pending_requests`;
 * - `timeouts`, a counter, one per `'timeout'` event;
 * - `create_time`, `wait_time`, `use_time`, histograms in seconds, one
 *   measurement per `'create'`, `'acquire'`, `'release'`/`'revoke'` event.
 *
 * Only the pool's public API is used. Call `unregister()` before dropping
 * the pool, or to stop recording.
 */
export function instrumentPool(pool: InstrumentablePool, options: InstrumentPoolOptions = {}): PoolInstrumentation {
  const provider = options.meterProvider ?? metrics.getMeterProvider()
  const meter = provider.getMeter(METER_NAME)
  const poolName = pool.name
  const base = { [POOL_NAME_ATTRIBUTE]: poolName }
  const idle = { ...base, [STATE_ATTRIBUTE]: 'idle' }
  const used = { ...base, [STATE_ATTRIBUTE]: 'used' }

  const gauge = (name: string, description: string, unit: string) =>
    meter.createObservableUpDownCounter(name, { description, unit, valueType: ValueType.INT })
  const count = gauge(
    POOL_METRICS.count,
    'Connections currently in the state given by db.client.connection.state.',
    '{connection}',
  )
  const idleMax = gauge(POOL_METRICS.idleMax, 'The most idle open connections allowed.', '{connection}')
  const idleMin = gauge(POOL_METRICS.idleMin, 'The fewest idle open connections allowed.', '{connection}')
  const max = gauge(POOL_METRICS.max, 'The most open connections allowed.', '{connection}')
  const pending = gauge(POOL_METRICS.pendingRequests, 'Callers waiting for an open connection.', '{request}')

  const observe: BatchObservableCallback = (result) => {
    const stats = pool.stats()
    result.observe(count, stats.idle, idle)
    result.observe(count, stats.used, used)
    // Every connection may sit idle: the pool has no separate idle cap.
    result.observe(idleMax, stats.max, base)
    result.observe(idleMin, stats.min, base)
    result.observe(max, stats.max, base)
    result.observe(pending, stats.pending, base)
  }
  const observables = [count, idleMax, idleMin, max, pending]
  meter.addBatchObservableCallback(observe, observables)

  const timeouts = meter.createCounter(POOL_METRICS.timeouts, {
    description: 'Callers that gave up waiting for a connection (acquireTimeoutMillis).',
    unit: '{timeout}',
    valueType: ValueType.INT,
  })
  const histogram = (name: string, description: string): Histogram =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
    })
  const createTime = histogram(POOL_METRICS.createTime, 'The time it took to create a new connection.')
  const waitTime = histogram(POOL_METRICS.waitTime, 'The time it took to obtain an open connection from the pool.')
  const useTime = histogram(
    POOL_METRICS.useTime,
    'The time between borrowing a connection and returning it to the pool.',
  )

  // A revoked lease ends once. Whether the pool also emits 'release' for it
  // (it did before the pool rewrite) or not, use_time records it once.
  let lastEnded = -1
  const endLease = (leaseId: number, heldMillis: number): void => {
    if (leaseId === lastEnded) return
    lastEnded = leaseId
    useTime.record(heldMillis / 1000, base)
  }

  const listeners: { [E in PoolEventName]?: PoolEventListener<E> } = {
    create: (e) => createTime.record(e.createMillis / 1000, base),
    acquire: (e) => waitTime.record(e.waitedMillis / 1000, base),
    release: (e) => endLease(e.leaseId, e.heldMillis),
    revoke: (e) => endLease(e.leaseId, e.heldMillis),
    timeout: () => timeouts.add(1, base),
  }
  const each = (fn: <E extends PoolEventName>(event: E, listener: PoolEventListener<E>) => void): void => {
    for (const event of Object.keys(listeners) as PoolEventName[]) {
      fn(event, listeners[event] as PoolEventListener<typeof event>)
    }
  }
  each((event, listener) => pool.on(event, listener))

  let registered = true
  return Object.freeze({
    unregister(): void {
      if (!registered) return
      registered = false
      meter.removeBatchObservableCallback(observe, observables)
      each((event, listener) => pool.off(event, listener))
    },
  })
}
