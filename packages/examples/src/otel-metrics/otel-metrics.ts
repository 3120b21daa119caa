import { instrumentPool } from '@kysely-pooled/core/opentelemetry'
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics'
import { sql } from 'kysely'
import type { ExampleDatabase } from '../shared/databases.js'
import { createPooledKysely } from '../shared/dialect.js'

/** One exported metric point, flattened for printing and for the test. */
export interface MetricLine {
  readonly name: string
  readonly unit: string
  readonly attributes: Readonly<Record<string, string | number | boolean>>
  /** Gauges and counters: the value. Histograms: `count=… sum=…s`. */
  readonly value: string
}

/**
 * A pool instrumented with `instrumentPool`, a burst of queries through
 * Kysely, and the `db.client.connection.*` metrics the OpenTelemetry SDK
 * exports afterwards. In an application the reader would be an OTLP or
 * Prometheus exporter; the in-memory one keeps the example self-contained.
 */
export async function collectPoolMetrics(
  database: ExampleDatabase,
  poolName = `otel-${database.dialect}`,
): Promise<MetricLine[]> {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  // Exported on demand (forceFlush) rather than every minute.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 2 ** 31 - 1 })
  const meterProvider = new MeterProvider({ readers: [reader] })

  const { db, pool } = createPooledKysely<object>(database, { name: poolName, max: 3, acquireTimeoutMillis: 250 })
  const instrumentation = instrumentPool(pool, { meterProvider })
  try {
    // 12 callers on 3 connections: some of them wait, so wait_time has spread.
    await Promise.all(Array.from({ length: 12 }, (_, i) => sql`SELECT ${i} AS n`.execute(db)))
    // Every connection held, one more caller gives up after acquireTimeoutMillis: the timeouts counter.
    const held = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
    await pool.acquire().then(
      (lease) => lease.release(),
      (error: unknown) => void error,
    )
    await Promise.all(held.map((lease) => lease.release()))
    await reader.forceFlush()
    return flatten(exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)))
  } finally {
    instrumentation.unregister()
    await db.destroy()
    await meterProvider.shutdown()
  }
}

function flatten(metrics: readonly MetricData[]): MetricLine[] {
  const lines: MetricLine[] = []
  for (const metric of metrics) {
    for (const point of metric.dataPoints) {
      let value: string
      if (metric.dataPointType === DataPointType.HISTOGRAM) {
        const h = point.value as { count: number; sum?: number }
        value = `count=${h.count} sum=${(h.sum ?? 0).toFixed(4)}s`
      } else {
        value = String(point.value)
      }
      lines.push({
        name: metric.descriptor.name,
        unit: metric.descriptor.unit,
        attributes: point.attributes as MetricLine['attributes'],
        value,
      })
    }
  }
  return lines.sort((a, b) => a.name.localeCompare(b.name))
}

/** The lines as a plain-text listing. */
export function formatMetricLines(lines: readonly MetricLine[]): string[] {
  return lines.map((line) => {
    const attributes = Object.entries(line.attributes)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ')
    return `${line.name.padEnd(40)} ${line.value.padEnd(28)} ${line.unit.padEnd(13)} ${attributes}`
  })
}
