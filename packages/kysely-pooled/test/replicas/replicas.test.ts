import { Kysely, sql, type Generated } from 'kysely'
import { PooledMysqlDialect, PooledPostgresDialect, readYourWritesScope, type ServerChange } from 'kysely-pooled'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import {
  startMariadbReplication,
  startPostgresReplication,
  type ReplicationPair,
} from '../support/replication-servers.js'

// Replicas and failover (issue 19) on throwaway servers: a PostgreSQL
// primary + streaming standby, a MariaDB primary + GTID replica. The
// figures each case measures are printed (the README's table quotes them).

interface Database {
  kp_rep_rows: { id: Generated<number>; port: number }
}

const report = (line: string) => console.log(`[replicas] ${line}`)

/** The port of the server that answers: the test asks the server, not the router. */
function portSql(dialect: 'postgres' | 'mysql') {
  return dialect === 'postgres'
    ? sql<{ port: number }>`select inet_server_port() as port`
    : sql<{ port: number }>`select @@port as port`
}

function makeDialect(
  pair: ReplicationPair,
  extra: { readYourWritesMillis?: number; maxReplicaLagMillis?: number; failover?: boolean } = {},
) {
  const pool = { max: 8, acquireTimeoutMillis: 5_000, name: `kp-rep-${pair.dialect}` }
  const connection = extra.failover ? [pair.primary.url, pair.replica.url] : pair.primary.url
  const common = {
    connection,
    replicas: [pair.replica.url],
    pool,
    maxReplicaLagMillis: extra.maxReplicaLagMillis ?? 1_000,
    readYourWritesMillis: extra.readYourWritesMillis ?? 1_000,
  }
  return pair.dialect === 'postgres' ? new PooledPostgresDialect(common) : new PooledMysqlDialect(common)
}

async function answeredBy(db: Kysely<Database>, dialect: 'postgres' | 'mysql'): Promise<number> {
  const { rows } = await portSql(dialect).execute(db)
  return Number(rows[0]!.port)
}

async function runOnReplica(pair: ReplicationPair, text: string): Promise<void> {
  if (pair.dialect === 'postgres') {
    const client = new pg.Client(pair.replica.url)
    await client.connect()
    try {
      await client.query(text)
    } finally {
      await client.end()
    }
    return
  }
  const connection = await mysql.createConnection(pair.replica.url)
  try {
    await connection.query(text)
  } finally {
    await connection.end()
  }
}

async function usable(dialect: PooledPostgresDialect | PooledMysqlDialect, port: number): Promise<boolean> {
  return dialect.topology!.servers().some((server) => server.server.endsWith(`:${port}`) && server.usable)
}

describe.each(['postgres', 'mysql'] as const)('replicas on %s', (kind) => {
  let pair: ReplicationPair
  let dialect: PooledPostgresDialect | PooledMysqlDialect
  let db: Kysely<Database>
  const changes: ServerChange[] = []

  beforeAll(async () => {
    pair = kind === 'postgres' ? await startPostgresReplication() : await startMariadbReplication()
    await pair.primary.admin(
      kind === 'postgres'
        ? 'create table kp_rep_rows (id serial primary key, port int not null)'
        : 'create table test.kp_rep_rows (id int auto_increment primary key, port int not null)',
    )
    dialect = makeDialect(pair)
    dialect.topology!.on('change', (change) => changes.push(change))
    db = new Kysely<Database>({ dialect })
    await vi.waitFor(async () => expect(await usable(dialect, pair.replica.port)).toBe(true), { timeout: 10_000 })
  }, 90_000)

  afterAll(async () => {
    await db?.destroy()
    await pair?.destroy()
  })

  test('one pool per server, named after its role and address; change events say who is what', () => {
    const servers = dialect.topology!.servers()
    expect(servers.map((server) => [server.role, server.pool])).toEqual([
      ['primary', `kp-rep-${kind}/primary:127.0.0.1:${pair.primary.port}`],
      ['replica', `kp-rep-${kind}/replica:127.0.0.1:${pair.replica.port}`],
    ])
    expect(changes.some((change) => change.role === 'primary' && change.server.endsWith(`:${pair.primary.port}`))).toBe(
      true,
    )
    expect(changes.some((change) => change.role === 'replica' && change.usable)).toBe(true)
    // each its own pool: its own max and stats
    const pools = dialect.topology!.pools()
    expect(pools.map((pool) => [pool.name, pool.stats().max])).toEqual(servers.map((server) => [server.pool, 8]))
    expect(dialect.pool.name).toBe(pools[0]!.name)
  })

  test('routing share: single reads are answered by the replica', async () => {
    const trials = 300
    let byReplica = 0
    for (let i = 0; i < trials; i++) {
      if ((await answeredBy(db, kind)) === pair.replica.port) byReplica++
    }
    const share = byReplica / trials
    report(
      `${kind} routing share: ${byReplica}/${trials} single reads answered by the replica (${(share * 100).toFixed(1)} %)`,
    )
    expect(share).toBeGreaterThanOrEqual(0.9)
  })

  test('writes and transactions run on the primary, every one', async () => {
    const trials = 50
    for (let i = 0; i < trials; i++) {
      // the port is the server's own, computed where the insert runs
      await (
        kind === 'postgres'
          ? sql`insert into kp_rep_rows (port) values (inet_server_port())`
          : sql`insert into kp_rep_rows (port) values (@@port)`
      ).execute(db)
    }
    const ports = await db.selectFrom('kp_rep_rows').select('port').execute()
    expect(ports.length).toBe(trials)
    expect(new Set(ports.map((row) => row.port))).toEqual(new Set([pair.primary.port]))
    const inTransaction = await Promise.all(
      Array.from({ length: trials }, () => db.transaction().execute((trx) => answeredBy(trx, kind))),
    )
    expect(inTransaction.filter((port) => port === pair.primary.port).length).toBe(trials)
    // a locking read is not a plain read
    const locking = await db.connection().execute(async (conn) => {
      const { rows } = await (
        kind === 'postgres'
          ? sql<{ port: number }>`select inet_server_port() as port from kp_rep_rows limit 1 for update`
          : sql<{ port: number }>`select @@port as port from kp_rep_rows limit 1 for update`
      ).execute(conn)
      return Number(rows[0]!.port)
    })
    expect(locking).toBe(pair.primary.port)
    report(`${kind} writes: ${trials}/${trials} inserts and ${trials}/${trials} transactions on the primary`)
  })

  test('insert-then-select in one read-your-writes scope sees its row, 200 of 200', async () => {
    const trials = 200
    let seen = 0
    await Promise.all(
      Array.from({ length: 10 }, async (_, worker) => {
        for (let i = 0; i < trials / 10; i++) {
          await readYourWritesScope(async () => {
            const port = worker * 1_000 + i + 100_000
            await db.insertInto('kp_rep_rows').values({ port }).execute()
            const row = await db.selectFrom('kp_rep_rows').select('id').where('port', '=', port).executeTakeFirst()
            if (row !== undefined) seen++
          })
        }
      }),
    )
    report(`${kind} read-your-writes: ${seen}/${trials} selects saw the row just inserted`)
    expect(seen).toBe(trials)
  })

  test('a read the replica refuses as a write did not run: it is sent to the primary once', async () => {
    // looks like a plain read; the function writes
    await pair.primary.admin(
      kind === 'postgres'
        ? "create function kp_rep_write() returns int language sql as 'insert into kp_rep_rows (port) values (7) returning 1'"
        : 'create function test.kp_rep_write() returns int modifies sql data begin insert into test.kp_rep_rows (port) values (7); return 1; end',
    )
    // the replica has the function too (else it would answer "no such function", not refuse a write)
    await expect
      .poll(
        async () =>
          Number(
            (
              await pair.replica.admin(
                kind === 'postgres'
                  ? "select count(*) as n from pg_proc where proname = 'kp_rep_write'"
                  : "select count(*) as n from information_schema.routines where routine_name = 'kp_rep_write'",
              )
            )[0]!.n,
          ),
        { timeout: 5_000 },
      )
      .toBe(1)
    // counted on the primary itself
    const count = async () =>
      Number(
        (
          await pair.primary.admin(
            `select count(*) as n from ${kind === 'mysql' ? 'test.' : ''}kp_rep_rows where port = 7`,
          )
        )[0]!.n,
      )
    const before = await count()
    const { rows } = await sql<{ written: number }>`select kp_rep_write() as written`.execute(db)
    expect(Number(rows[0]!.written)).toBe(1)
    // once: exactly one row more
    expect(await count()).toBe(before + 1)
  })

  test('the server is the judge: every text the classifier calls a plain read runs on the replica', async () => {
    const { isPlainRead } = await import('@kysely-pooled/core')
    const table = 'kp_rep_rows'
    const shapes = [
      `select * from ${table}`,
      `select count(*) from ${table} where port > 1`,
      `with r as (select * from ${table}) select * from r`,
      `select * from ${table} for update`,
      `select * from ${table} for share`,
      `select * from ${table} lock in share mode`,
      `insert into ${table} (port) values (1)`,
      `with d as (delete from ${table} where port = -1 returning id) select * from d`,
      `update ${table} set port = port where id = -1`,
      `delete from ${table} where id = -1`,
      `select * into kp_rep_copy from ${table}`,
      'select 1 as one',
      'values (1)',
      'select now()',
      kind === 'postgres' ? "select nextval('kp_rep_rows_id_seq')" : 'select last_insert_id()',
      kind === 'postgres' ? 'select pg_advisory_lock(1)' : "select get_lock('kp', 0)",
      kind === 'postgres' ? "select set_config('work_mem', '8MB', false)" : 'select @@port',
    ]
    const reads = shapes.filter((text) => isPlainRead(text, kind))
    expect(reads.length).toBeGreaterThan(4)
    const refused: string[] = []
    for (const text of reads) {
      // straight to the replica, as the application's user (MariaDB's read_only binds it)
      try {
        await runOnReplica(pair, text)
      } catch (error) {
        const { code, errno } = error as { code?: unknown; errno?: unknown }
        if (code === '25006' || errno === 1290) refused.push(text)
        else throw error
      }
    }
    expect(refused).toEqual([])
  })

  test('replay paused beyond maxReplicaLagMillis: reads move to the primary, and back once resumed', async () => {
    // reads are on the replica (no read-your-writes window of an earlier test left)
    await expect.poll(() => answeredBy(db, kind), { timeout: 5_000 }).toBe(pair.replica.port)
    await pair.replica.admin(kind === 'postgres' ? 'select pg_wal_replay_pause()' : 'stop slave sql_thread')
    // a write the replica cannot replay now (made outside the dialect: no read-your-writes window)
    await pair.primary.admin(
      kind === 'postgres'
        ? 'insert into kp_rep_rows (port) values (1)'
        : 'insert into test.kp_rep_rows (port) values (1)',
    )
    const paused = performance.now()
    await expect.poll(() => answeredBy(db, kind), { timeout: 10_000, interval: 50 }).toBe(pair.primary.port)
    const movedAfter = performance.now() - paused
    expect(dialect.topology!.servers()[1]!.usable).toBe(false)
    await pair.replica.admin(kind === 'postgres' ? 'select pg_wal_replay_resume()' : 'start slave sql_thread')
    const resumed = performance.now()
    await expect.poll(() => answeredBy(db, kind), { timeout: 5_000, interval: 50 }).toBe(pair.replica.port)
    const backAfter = performance.now() - resumed
    report(
      `${kind} lag: reads left the paused replica ${Math.round(movedAfter)} ms after the write (maxReplicaLagMillis 1000), back ${Math.round(backAfter)} ms after resume`,
    )
  })

  test('a replica stopped under 50 readers: nobody hangs, reads continue, it is back within 10 s of its restart', async () => {
    let stop = false
    let reads = 0
    let failures = 0
    const readers = Array.from({ length: 50 }, async () => {
      while (!stop) {
        try {
          await answeredBy(db, kind)
          reads++
        } catch {
          failures++
        }
      }
    })
    await expect.poll(() => reads, { timeout: 5_000 }).toBeGreaterThan(200)
    const changesBefore = changes.length
    await pair.replica.stop()
    const readsAtStop = reads
    // reads keep being answered (by the primary) while the replica is down
    await expect.poll(() => reads - readsAtStop, { timeout: 5_000 }).toBeGreaterThan(500)
    const failuresWhileDown = failures
    // the replica was taken out (a change event said so), not just lucky
    expect(
      changes.slice(changesBefore).some((change) => change.server.endsWith(`:${pair.replica.port}`) && !change.usable),
    ).toBe(true)
    const restarted = performance.now()
    await pair.replica.start()
    await expect.poll(() => usable(dialect, pair.replica.port), { timeout: 10_000, interval: 50 }).toBe(true)
    const backAfter = performance.now() - restarted
    stop = true
    await Promise.all(readers)
    report(
      `${kind} replica stopped under 50 readers: ${failuresWhileDown} reads failed (in flight when it stopped), ${reads} answered; back in ${Math.round(backAfter)} ms after its restart`,
    )
    expect(failuresWhileDown).toBeLessThanOrEqual(50)
    expect(await answeredBy(db, kind)).toBe(pair.replica.port)
  })
})
