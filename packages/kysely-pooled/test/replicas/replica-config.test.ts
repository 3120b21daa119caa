import { PoolConfigError, createPool, postgresConnector } from '@kysely-pooled/core'
import { PooledMysqlDialect, PooledPostgresDialect } from 'kysely-pooled'
import { describe, expect, test } from 'vitest'
import { LagHistory } from '../../src/replicas/lag-history.js'
import { serverOf } from '../../src/replicas/replica-config.js'

function problemsOf(make: () => unknown): string[] {
  try {
    make()
  } catch (error) {
    if (error instanceof PoolConfigError) return [...error.problems]
    throw error
  }
  return []
}

describe('replica and failover config', () => {
  test('reports every problem at once, without the URLs (they may carry passwords)', () => {
    const problems = problemsOf(
      () =>
        new PooledPostgresDialect({
          connection: [],
          replicas: ['postgres://app:secret@', 42 as unknown as string],
          maxReplicaLagMillis: -1,
          readYourWritesMillis: 1.5,
        }),
    )
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('connection as an array must list at least one server'),
        expect.stringContaining('maxReplicaLagMillis must be an integer >= 0'),
        expect.stringContaining('readYourWritesMillis must be an integer >= 0'),
        expect.stringContaining('connection must be'),
      ]),
    )
    expect(problems.join('\n')).not.toContain('secret')
  })

  test('lag and read-your-writes options need replicas; a shared Pool cannot be split per server', async () => {
    expect(problemsOf(() => new PooledMysqlDialect({ connection: 'mysql://x@h/db', maxReplicaLagMillis: 5 }))).toEqual([
      expect.stringContaining('need replicas'),
    ])
    const pool = createPool(postgresConnector('postgres://x@127.0.0.1:1/db'))
    expect(problemsOf(() => new PooledPostgresDialect({ pool, replicas: ['postgres://x@h2/db'] }))).toEqual([
      expect.stringContaining('need pool options (one pool per server)'),
    ])
    await pool.destroy()
  })

  test('a server is its host and port, whatever the form of its connection', () => {
    expect(serverOf('postgres://app:pw@db1.internal/app', 5432)).toBe('db1.internal:5432')
    expect(serverOf({ host: 'db2', port: 6432 }, 5432)).toBe('db2:6432')
    expect(serverOf({ connectionString: 'postgres://db3:5433/x' }, 5432)).toBe('db3:5433')
    expect(serverOf({ uri: 'mysql://root@db4/x' }, 3306)).toBe('db4:3306')
    expect(serverOf('not a url', 5432)).toBeUndefined()
  })
})

describe('LagHistory', () => {
  const history = () => new LagHistory<number>((position, sample) => position >= sample)

  test('a replica is as far behind as the oldest primary position it has not replayed', () => {
    const lag = history()
    lag.record(10, 1_000)
    lag.record(20, 1_250)
    lag.record(30, 1_500)
    expect(lag.lagOf(30, 1_600)).toBe(0)
    expect(lag.lagOf(25, 1_600)).toBe(100)
    expect(lag.lagOf(15, 1_600)).toBe(350)
    expect(lag.lagOf(5, 1_600)).toBe(600)
  })

  test('nothing known of the primary (or of the replica): infinitely far, no reads', () => {
    expect(history().lagOf(5, 1_000)).toBe(Infinity)
    const lag = history()
    lag.record(1, 0)
    expect(lag.lagOf(undefined, 1_000)).toBe(Infinity)
    lag.clear()
    expect(lag.lagOf(1, 1_000)).toBe(Infinity)
  })
})
