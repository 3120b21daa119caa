import { testDatabases } from '@kysely-pooled/core/testing'
import { describe, expect, it } from 'vitest'
import { collectPoolMetrics, formatMetricLines } from '../src/otel-metrics/otel-metrics.js'
import { databaseAt } from '../src/shared/databases.js'

describe.each(testDatabases())('otel-metrics on $dialect', ({ dialect, url }) => {
  it('exports every db.client.connection.* metric, with the pool name on each', async () => {
    const lines = await collectPoolMetrics(databaseAt(dialect, url), `otel-example-${dialect}`)
    expect([...new Set(lines.map((l) => l.name))]).toEqual([
      'db.client.connection.count',
      'db.client.connection.create_time',
      'db.client.connection.idle.max',
      'db.client.connection.idle.min',
      'db.client.connection.max',
      'db.client.connection.pending_requests',
      'db.client.connection.timeouts',
      'db.client.connection.use_time',
      'db.client.connection.wait_time',
    ])
    for (const line of lines) {
      expect(line.attributes['db.client.connection.pool.name']).toBe(`otel-example-${dialect}`)
    }
    const find = (name: string, state?: string) =>
      lines.find(
        (l) => l.name === name && (state === undefined || l.attributes['db.client.connection.state'] === state),
      )?.value
    expect(find('db.client.connection.timeouts')).toBe('1')
    expect(find('db.client.connection.max')).toBe('3')
    expect(find('db.client.connection.count', 'idle')).toBe('3')
    expect(find('db.client.connection.count', 'used')).toBe('0')
    // 12 queries + 3 held leases (+ the one that timed out never had one).
    expect(find('db.client.connection.use_time')).toMatch(/^count=15 sum=\d+\.\d{4}s$/)
    expect(formatMetricLines(lines)).toHaveLength(lines.length)
  })
})
