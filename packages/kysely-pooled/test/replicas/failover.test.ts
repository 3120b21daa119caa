import { Kysely, sql } from 'kysely'
import { PooledMysqlDialect, PooledPostgresDialect } from 'kysely-pooled'
import { afterEach, expect, test } from 'vitest'
import {
  startMariadbReplication,
  startPostgresReplication,
  type ReplicationPair,
} from '../support/replication-servers.js'

// Failover (issue 19): `connection` lists candidate primaries; writes go to
// the one that accepts them and move when it stops.

interface Database {
  kp_fo_rows: { id: number; writer: number; port: number }
}

interface Outcome {
  /** When the write was sent, and when it settled. */
  readonly sentAt: number
  readonly at: number
  readonly port?: number
  readonly code?: unknown
}

const report = (line: string) => console.log(`[failover] ${line}`)

let pair: ReplicationPair | undefined
let db: Kysely<Database> | undefined

afterEach(async () => {
  await db?.destroy()
  await pair?.destroy()
  db = undefined
  pair = undefined
})

/** 20 writers inserting until `stop()`; each outcome timed and, when it succeeded, with the port of the server that ran it. */
function startWriters(kysely: Kysely<Database>, dialect: 'postgres' | 'mysql') {
  const outcomes: Outcome[] = []
  let stopped = false
  const writers = Array.from({ length: 20 }, async (_, writer) => {
    while (!stopped) {
      const sentAt = performance.now()
      try {
        const { rows } = await (
          dialect === 'postgres'
            ? sql<{
                port: number
              }>`insert into kp_fo_rows (writer, port) values (${writer}, inet_server_port()) returning port`
            : sql<{ port: number }>`insert into kp_fo_rows (writer, port) values (${writer}, @@port) returning port`
        ).execute(kysely)
        outcomes.push({ sentAt, at: performance.now(), port: Number(rows[0]!.port) })
      } catch (error) {
        const { code, errno } = error as { code?: unknown; errno?: unknown }
        // PostgreSQL's SQLSTATE; mysql2's errno (its `code` is a name)
        outcomes.push({ sentAt, at: performance.now(), code: typeof errno === 'number' ? errno : code })
      }
    }
  })
  return {
    outcomes,
    async stop() {
      stopped = true
      await Promise.all(writers)
    },
  }
}

function measureFailover(outcomes: readonly Outcome[], switchedAt: number, newPrimaryPort: number) {
  const after = outcomes.filter((outcome) => outcome.at >= switchedAt)
  const firstOk = after.find((outcome) => outcome.port !== undefined)
  // writes sent once the new primary had answered one (a write sent earlier, to the old one, may settle later)
  const sinceFirstOk = firstOk === undefined ? [] : after.filter((outcome) => outcome.sentAt >= firstOk.at)
  return {
    firstOkMillis: firstOk === undefined ? Infinity : firstOk.at - switchedAt,
    okAfter: sinceFirstOk.filter((outcome) => outcome.port !== undefined).length,
    elsewhere: sinceFirstOk.filter((outcome) => outcome.port !== undefined && outcome.port !== newPrimaryPort).length,
    refusedAsWrite: sinceFirstOk.filter((outcome) => outcome.code === '25006' || outcome.code === 1290).length,
    failedAfter: sinceFirstOk.filter((outcome) => outcome.port === undefined).length,
  }
}

test('PostgreSQL: primary stopped, standby promoted under 20 writers: writes succeed again within 5 s, none to a read-only server', async () => {
  pair = await startPostgresReplication()
  await pair.primary.admin('create table kp_fo_rows (id serial primary key, writer int not null, port int not null)')
  const dialect = new PooledPostgresDialect({
    connection: [pair.primary.url, pair.replica.url],
    replicas: [pair.replica.url],
    pool: { max: 10, acquireTimeoutMillis: 5_000, name: 'kp-fo-pg' },
  })
  db = new Kysely<Database>({ dialect })
  const writers = startWriters(db, 'postgres')
  await expect
    .poll(() => writers.outcomes.filter((outcome) => outcome.port === pair!.primary.port).length)
    .toBeGreaterThan(200)

  const stoppedAt = performance.now()
  await pair.primary.stop()
  // the standby replayed everything the stopped primary wrote (a fast shutdown ships it all)
  await pair.replica.admin('select pg_promote()')
  const promotedAt = performance.now()
  await expect
    .poll(() => measureFailover(writers.outcomes, promotedAt, pair!.replica.port).okAfter, { timeout: 10_000 })
    .toBeGreaterThan(200)
  await writers.stop()

  const figures = measureFailover(writers.outcomes, promotedAt, pair.replica.port)
  const failedDuring = writers.outcomes.filter(
    (o) => o.at >= stoppedAt && o.at < promotedAt + figures.firstOkMillis && o.port === undefined,
  )
  report(
    `postgres: writes succeeded again ${Math.round(figures.firstOkMillis)} ms after the promotion (primary stopped ${Math.round(promotedAt - stoppedAt)} ms before it); ` +
      `${failedDuring.length} writes failed meanwhile; afterwards ${figures.okAfter} ok, ${figures.elsewhere} on another server, ${figures.refusedAsWrite} refused as writes, ${figures.failedAfter} failed`,
  )
  expect(figures.firstOkMillis).toBeLessThan(5_000)
  expect(figures.elsewhere).toBe(0)
  expect(figures.refusedAsWrite).toBe(0)
  expect(figures.failedAfter).toBe(0)
  expect(dialect.topology!.servers().map((server) => server.role)).toEqual(['unknown', 'primary'])
}, 60_000)

test('MariaDB: switchover (the primary turns read-only, the replica writable) under 20 writers: writes follow within 5 s', async () => {
  pair = await startMariadbReplication()
  await pair.primary.admin(
    'create table test.kp_fo_rows (id int auto_increment primary key, writer int not null, port int not null)',
  )
  const dialect = new PooledMysqlDialect({
    connection: [pair.primary.url, pair.replica.url],
    replicas: [pair.replica.url],
    pool: { max: 10, acquireTimeoutMillis: 5_000, name: 'kp-fo-mysql' },
  })
  db = new Kysely<Database>({ dialect })
  const writers = startWriters(db, 'mysql')
  await expect
    .poll(() => writers.outcomes.filter((outcome) => outcome.port === pair!.primary.port).length)
    .toBeGreaterThan(200)

  const demotedAt = performance.now()
  await pair.primary.admin('set global read_only = 1')
  await pair.replica.admin('stop slave')
  await pair.replica.admin('set global read_only = 0')
  const switchedAt = performance.now()
  await expect
    .poll(() => measureFailover(writers.outcomes, switchedAt, pair!.replica.port).okAfter, { timeout: 10_000 })
    .toBeGreaterThan(200)
  await writers.stop()

  const figures = measureFailover(writers.outcomes, switchedAt, pair.replica.port)
  const refusedDuring = writers.outcomes.filter((o) => o.at >= demotedAt && o.code === 1290).length
  report(
    `mysql: writes succeeded on the new primary ${Math.round(figures.firstOkMillis)} ms after the switch; ` +
      `${refusedDuring} writes refused by the demoted primary meanwhile; afterwards ${figures.okAfter} ok, ${figures.elsewhere} on another server, ${figures.refusedAsWrite} refused, ${figures.failedAfter} failed`,
  )
  expect(figures.firstOkMillis).toBeLessThan(5_000)
  expect(figures.elsewhere).toBe(0)
  expect(figures.refusedAsWrite).toBe(0)
  expect(dialect.topology!.servers().map((server) => server.role)).toEqual(['replica', 'primary'])
}, 60_000)
