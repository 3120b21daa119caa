import { startFaultProxy, type FaultProxy } from '@kysely-pooled/core/testing'
import { Kysely, sql } from 'kysely'
import { PooledMysqlDialect, PooledPostgresDialect } from 'kysely-pooled'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import {
  startMariadbReplication,
  startPostgresReplication,
  type ReplicationPair,
} from '../support/replication-servers.js'

// Health (issue 19): a replica whose network path turns into a black hole
// (packets dropped, no reset) is taken out by the background check, reads
// continue on the primary, nobody hangs past the statement guard, and it
// is back once the path is.

const report = (line: string) => console.log(`[replicas] ${line}`)

describe.each(['postgres', 'mysql'] as const)('a blackholed replica on %s', (kind) => {
  let pair: ReplicationPair
  let proxy: FaultProxy
  let dialect: PooledPostgresDialect | PooledMysqlDialect
  let db: Kysely<object>

  beforeAll(async () => {
    pair = kind === 'postgres' ? await startPostgresReplication() : await startMariadbReplication()
    proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: pair.replica.port } })
    const options = {
      connection: pair.primary.url,
      replicas: [proxy.url(pair.replica.url)],
      pool: { max: 8, acquireTimeoutMillis: 5_000, createTimeoutMillis: 1_000, name: `kp-rep-bh-${kind}` },
      // the client-side guard ends a statement stuck on a dead path
      statementTimeoutMillis: 2_000,
    }
    dialect = kind === 'postgres' ? new PooledPostgresDialect(options) : new PooledMysqlDialect(options)
    db = new Kysely<object>({ dialect })
    await vi.waitFor(() => expect(dialect.topology!.servers()[1]!.usable).toBe(true), { timeout: 10_000 })
  }, 90_000)

  afterAll(async () => {
    await proxy?.setMode('pass')
    await db?.destroy()
    await proxy?.close()
    await pair?.destroy()
  })

  const answeredBy = async () => {
    const { rows } = await (
      kind === 'postgres'
        ? sql<{ port: number }>`select inet_server_port() as port`
        : sql<{ port: number }>`select @@port as port`
    ).execute(db)
    return Number(rows[0]!.port)
  }

  test('20 readers: the replica is taken out, reads go on at the primary, every caller settles; back once the path is', async () => {
    let stop = false
    let failures = 0
    let byPrimary = 0
    const readers = Array.from({ length: 20 }, async () => {
      while (!stop) {
        try {
          if ((await answeredBy()) === pair.primary.port) byPrimary++
        } catch {
          failures++
        }
      }
    })
    await proxy.setMode('blackhole')
    const holed = performance.now()
    await expect.poll(() => dialect.topology!.servers()[1]!.usable, { timeout: 10_000, interval: 50 }).toBe(false)
    const outAfter = performance.now() - holed
    // reads keep being answered, by the primary
    const before = byPrimary
    await expect.poll(() => byPrimary - before, { timeout: 10_000 }).toBeGreaterThan(200)
    await proxy.setMode('pass')
    const healed = performance.now()
    // back: reads answered by the replica again (connections the hole spoiled are found broken and replaced first)
    await expect.poll(answeredBy, { timeout: 10_000, interval: 50 }).toBe(pair.replica.port)
    const backAfter = performance.now() - healed
    stop = true
    // no caller hangs: every reader's last statement settles
    await Promise.all(readers)
    report(
      `${kind} replica blackholed under 20 readers: out after ${Math.round(outAfter)} ms, ${failures} reads failed (in flight), back ${Math.round(backAfter)} ms after the path healed`,
    )
    expect(failures).toBeLessThanOrEqual(20)
  })
})
