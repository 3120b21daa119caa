import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics'
import { afterEach, describe, expect, it } from 'vitest'
import { createPool, PoolTimeoutError, type Pool } from '../../src/index.js'
import { instrumentPool, POOL_METRICS } from '../../src/opentelemetry/index.js'
import { testDatabases } from '../../src/testing/index.js'
import { connectorFor, run, type DriverConnection } from '../connector/support/databases.js'

const EXPECTED_NAMES = Object.values(POOL_METRICS).sort()

/** An SDK meter provider whose metrics are read on demand, never on a timer. */
function inMemoryMetrics() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 2 ** 31 - 1 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  return {
    meterProvider,
    /** Collects now and returns the metrics of this collection by name. */
    async collect(): Promise<Map<string, MetricData>> {
      exporter.reset()
      await reader.forceFlush()
      const byName = new Map<string, MetricData>()
      for (const resource of exporter.getMetrics()) {
        for (const scope of resource.scopeMetrics) {
          for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric)
        }
      }
      return byName
    },
    shutdown: () => meterProvider.shutdown(),
  }
}

/** The value of a gauge or counter point with these attributes. */
function value(metrics: Map<string, MetricData>, name: string, attributes: Record<string, string>): unknown {
  const metric = metrics.get(name)
  const point = metric?.dataPoints.find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
  return point?.value
}

/** Count and sum of a histogram's single point. */
function histogram(metrics: Map<string, MetricData>, name: string): { count: number; sum: number; unit: string } {
  const metric = metrics.get(name)!
  expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM)
  expect(metric.dataPoints).toHaveLength(1)
  const point = metric.dataPoints[0]!.value as { count: number; sum?: number }
  return { count: point.count, sum: point.sum ?? 0, unit: metric.descriptor.unit }
}

describe.each(testDatabases())('instrumentPool on $dialect', (db) => {
  let pool: Pool<DriverConnection> | undefined
  let otel: ReturnType<typeof inMemoryMetrics> | undefined

  afterEach(async () => {
    await pool?.destroy({ graceMillis: 0 })
    await otel?.shutdown()
    pool = undefined
    otel = undefined
  })

  it('registers exactly the db.client.connection.* instruments and records per event', async () => {
    otel = inMemoryMetrics()
    const name = `otel-${db.dialect}`
    pool = createPool(connectorFor(db), { name, min: 1, max: 2, acquireTimeoutMillis: 300 })
    const p = pool
    instrumentPool(p, { meterProvider: otel.meterProvider })
    await p.ready()
    const pooled = { 'db.client.connection.pool.name': name }

    const a = await p.acquire()
    const b = await p.acquire()
    await run(db, a.connection, 'SELECT 1 AS one')
    const waiting = p.acquire()
    await expect.poll(() => p.stats().pending).toBe(1)

    let m = await otel.collect()
    expect(value(m, POOL_METRICS.count, { ...pooled, 'db.client.connection.state': 'used' })).toBe(2)
    expect(value(m, POOL_METRICS.count, { ...pooled, 'db.client.connection.state': 'idle' })).toBe(0)
    expect(value(m, POOL_METRICS.max, pooled)).toBe(2)
    expect(value(m, POOL_METRICS.idleMax, pooled)).toBe(2)
    expect(value(m, POOL_METRICS.idleMin, pooled)).toBe(1)
    expect(value(m, POOL_METRICS.pendingRequests, pooled)).toBe(1)
    expect(value(m, POOL_METRICS.timeouts, pooled)).toBeUndefined() // no point before the first timeout

    await expect(waiting).rejects.toBeInstanceOf(PoolTimeoutError)
    await a.release()
    await b.release()

    m = await otel.collect()
    // Every instrument has a point now (the SDK leaves out those with none yet).
    expect([...m.keys()].sort()).toEqual(EXPECTED_NAMES)
    for (const metric of m.values()) {
      for (const point of metric.dataPoints) {
        expect(point.attributes['db.client.connection.pool.name']).toBe(name)
      }
    }
    expect(value(m, POOL_METRICS.timeouts, pooled)).toBe(1)
    expect(value(m, POOL_METRICS.pendingRequests, pooled)).toBe(0)
    expect(value(m, POOL_METRICS.count, { ...pooled, 'db.client.connection.state': 'idle' })).toBe(2)
    expect(value(m, POOL_METRICS.count, { ...pooled, 'db.client.connection.state': 'used' })).toBe(0)
    const create = histogram(m, POOL_METRICS.createTime)
    expect(create).toMatchObject({ count: 2, unit: 's' })
    expect(create.sum).toBeGreaterThan(0)
    // Seconds, not milliseconds: one of these opens took well under 10 s.
    expect(create.sum).toBeLessThan(20)
    expect(histogram(m, POOL_METRICS.waitTime)).toMatchObject({ count: 2, unit: 's' })
    expect(histogram(m, POOL_METRICS.useTime)).toMatchObject({ count: 2, unit: 's' })

    // A lease that is revoked (here by destroy) ends once in use_time.
    await p.acquire()
    await p.destroy({ graceMillis: 0 })
    m = await otel.collect()
    expect(histogram(m, POOL_METRICS.useTime).count).toBe(3)
    expect(histogram(m, POOL_METRICS.waitTime).count).toBe(3)
  })

  it('unregister() stops the listeners and the observable callbacks', async () => {
    const o = (otel = inMemoryMetrics())
    pool = createPool(connectorFor(db), { name: `otel-off-${db.dialect}`, max: 1 })
    const instrumentation = instrumentPool(pool, { meterProvider: o.meterProvider })
    await pool.use((connection) => run(db, connection, 'SELECT 1 AS one'))

    let m = await otel.collect()
    expect(histogram(m, POOL_METRICS.useTime).count).toBe(1)
    expect(value(m, POOL_METRICS.count, { 'db.client.connection.state': 'idle' })).toBe(1)

    instrumentation.unregister()
    instrumentation.unregister() // idempotent
    await pool.use(async (connection) => {
      await run(db, connection, 'SELECT 1 AS one')
      // The gauges keep their last observed value (idle 1, used 0): nobody observes the lease.
      m = await o.collect()
    })
    expect(histogram(m, POOL_METRICS.useTime).count).toBe(1)
    expect(histogram(m, POOL_METRICS.waitTime).count).toBe(1)
    expect(value(m, POOL_METRICS.count, { 'db.client.connection.state': 'used' })).toBe(0)
    m = await otel.collect()
    expect(histogram(m, POOL_METRICS.useTime).count).toBe(1)
  })
})
