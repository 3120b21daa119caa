import { startFaultProxy, testDatabases, type FaultProxy } from '@kysely-pooled/core/testing'
import { CompiledQuery, Kysely, MysqlDialect, PostgresDialect, type Dialect } from 'kysely'
import { PooledMysqlDialect, PooledPostgresDialect } from 'kysely-pooled'
import mysql from 'mysql2'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pipelineVariant } from './helpers.js'

/*
 * `db.destroy()` while a query is stuck on a dead path (the fault proxy
 * blackholes it mid-statement): the caller is released and destroy
 * finishes, on both databases. Kysely's stock dialects go through the same
 * script; their figures are printed beside ours (README "Under faults").
 */

const GRACE_MILLIS = 200
const CLEANUP_TIMEOUT_MILLIS = 500
// Scheduling slack on a busy machine.
const SLACK_MILLIS = 1_500

interface Released {
  /** Milliseconds from the blackhole to the caller's rejection (`undefined`: not released in the window). */
  readonly callerMillis: number | undefined
  /** Milliseconds db.destroy() took (`undefined`: not finished in the window). */
  readonly destroyMillis: number | undefined
  readonly unhandled: unknown[]
}

describe.each(testDatabases())('db.destroy() with a query stuck on a dead path on $dialect', (database) => {
  const isPostgres = database.dialect === 'postgres'
  const port = Number(new URL(database.url).port || (isPostgres ? 5432 : 3306))
  const rows: string[] = []
  let proxy: FaultProxy
  let admin: { query(sql: string, params: unknown[]): Promise<unknown[]>; end(): Promise<void> }

  beforeAll(async () => {
    proxy = await startFaultProxy({ target: { host: '127.0.0.1', port } })
    if (isPostgres) {
      const client = new pg.Client(database.url)
      await client.connect()
      admin = { query: async (sql, params) => (await client.query(sql, params)).rows, end: () => client.end() }
    } else {
      const connection = mysql.createConnection(database.url).promise()
      admin = {
        query: async (sql, params) => (await connection.query(sql, params))[0] as unknown[],
        end: () => connection.end(),
      }
    }
  })

  async function endStatement(marker: string): Promise<void> {
    if (isPostgres) {
      await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where query like $1 and pid <> pg_backend_pid()`,
        [`%${marker}%`],
      )
      return
    }
    const ids = (await admin.query(
      'select ID as id from information_schema.PROCESSLIST where INFO like ? and ID <> CONNECTION_ID()',
      [`%${marker}%`],
    )) as { id: number }[]
    for (const { id } of ids) await admin.query(`KILL ${Number(id)}`, []).catch(() => {})
  }

  async function running(marker: string): Promise<boolean> {
    const found = isPostgres
      ? await admin.query(
          `select 1 from pg_stat_activity where state = 'active' and query like $1 and pid <> pg_backend_pid()`,
          [`%${marker}%`],
        )
      : await admin.query('select 1 from information_schema.PROCESSLIST where INFO like ? and ID <> CONNECTION_ID()', [
          `%${marker}%`,
        ])
    return found.length > 0
  }
  afterAll(async () => {
    if (rows.length > 0) {
      console.log(
        ['| fault | database | dialect | caller released | db.destroy() |', '|---|---|---|---|---|', ...rows].join(
          '\n',
        ),
      )
    }
    await proxy?.close()
    await admin?.end()
  })

  /** Runs a stuck query, destroys the Kysely instance, and watches for `windowMillis`. */
  async function stuckThenDestroy(dialect: Dialect, windowMillis: number): Promise<Released> {
    const unhandled: unknown[] = []
    const onRejection = (reason: unknown): void => {
      unhandled.push(reason)
    }
    process.on('unhandledRejection', onRejection)
    const db = new Kysely<Record<string, never>>({ dialect })
    const marker = `kp_fault_destroy_${Math.random().toString(36).slice(2, 8)}`
    try {
      await db.executeQuery(CompiledQuery.raw('select 1'))
      // 25 s, not the 30 s other suites count on the server.
      const stuck = db.executeQuery(
        CompiledQuery.raw(isPostgres ? `select pg_sleep(25) /* ${marker} */` : `select sleep(25) /* ${marker} */`),
      )
      let callerAt: number | undefined
      void stuck.then(
        () => (callerAt = performance.now()),
        () => (callerAt = performance.now()),
      )
      // Once the statement runs on the server, the path dies.
      await expect.poll(() => running(marker), { timeout: 10_000 }).toBe(true)
      await proxy.setMode('blackhole')
      const faultAt = performance.now()
      let destroyedAt: number | undefined
      const destroyed = (): void => {
        destroyedAt = performance.now()
      }
      void db.destroy().then(destroyed, destroyed)
      const until = faultAt + windowMillis
      while (performance.now() < until && (callerAt === undefined || destroyedAt === undefined)) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      return {
        callerMillis: callerAt === undefined ? undefined : Math.round(callerAt - faultAt),
        destroyMillis: destroyedAt === undefined ? undefined : Math.round(destroyedAt - faultAt),
        unhandled,
      }
    } finally {
      process.off('unhandledRejection', onRejection)
      // Whatever a stock pool left hanging dies with its sockets; the orphaned statement is ended on the server.
      proxy.resetAll()
      await proxy.setMode('pass')
      await endStatement(marker)
    }
  }

  function record(label: string, released: Released): void {
    const show = (millis: number | undefined): string => (millis === undefined ? 'not within 2 s' : `${millis} ms`)
    rows.push(
      `| query stuck on a dead path, then db.destroy() | ${database.dialect} | ${label} | ${show(released.callerMillis)} | ${show(released.destroyMillis)} |`,
    )
  }

  it('ours: the caller is released and destroy finishes within grace + cleanup', async () => {
    const pool = { max: 2, cleanupTimeoutMillis: CLEANUP_TIMEOUT_MILLIS }
    const dialect = isPostgres
      ? new PooledPostgresDialect({
          connection: proxy.url(database.url),
          pool,
          destroyGraceMillis: GRACE_MILLIS,
          pipeline: pipelineVariant,
        })
      : new PooledMysqlDialect({ connection: proxy.url(database.url), pool, destroyGraceMillis: GRACE_MILLIS })
    dialect.pool.on('error', () => {})
    const bound = GRACE_MILLIS + CLEANUP_TIMEOUT_MILLIS + SLACK_MILLIS
    const released = await stuckThenDestroy(dialect, bound)
    record(isPostgres ? 'PooledPostgresDialect' : 'PooledMysqlDialect', released)
    expect(released.unhandled).toEqual([])
    expect(released.callerMillis).toBeDefined()
    expect(released.callerMillis!).toBeLessThanOrEqual(bound)
    expect(released.destroyMillis).toBeDefined()
    expect(released.destroyMillis!).toBeLessThanOrEqual(bound)
  })

  it("stock: Kysely's own dialect under the same fault", async () => {
    const url = proxy.url(database.url)
    // Error listeners, or the cleanup's resets would crash this process (pg.Pool re-emits an idle client's error).
    const pgPool = new pg.Pool({ connectionString: url, max: 2 }).on('error', () => {})
    pgPool.on('connect', (client) => client.on('error', () => {}))
    const mysqlPool = mysql.createPool({ uri: url, connectionLimit: 2 })
    mysqlPool.on('connection', (connection) => connection.on('error', () => {}))
    const dialect = isPostgres ? new PostgresDialect({ pool: pgPool }) : new MysqlDialect({ pool: mysqlPool })
    const released = await stuckThenDestroy(dialect, 2_000)
    record(isPostgres ? 'PostgresDialect (pg.Pool)' : 'MysqlDialect (mysql2 pool)', released)
    expect(released.unhandled).toEqual([])
    // What the README says of it: the caller is not released.
    expect(released.callerMillis).toBeUndefined()
  })
})
