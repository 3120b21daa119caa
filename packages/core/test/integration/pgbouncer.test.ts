import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import type pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createPool,
  postgresConnector,
  SessionStateError,
  type Connector,
  type Pool,
  type PoolerOption,
} from '../../src/index.js'
import { assertAvailable, pgbouncerTarget, testDatabase } from '../../src/testing/index.js'
import { countRoundTrips, openAdmin, urlWithDatabase, type Admin } from '../connector/support/databases.js'

const require = createRequire(import.meta.url)
const pgDriver = require('pg') as typeof pg

/*
 * PostgreSQL through PgBouncer in transaction mode (the third test target;
 * see test/support/pgbouncer). `kp_single` is a PgBouncer database with one
 * server connection, so "the next client gets my server session" is certain.
 */
const target = pgbouncerTarget()
const direct = testDatabase('postgres')

describe('PostgreSQL through PgBouncer (transaction mode)', () => {
  const single = () => urlWithDatabase(target.url, 'kp_single')
  let admin: Admin
  let pool: Pool<pg.Client> | undefined
  const poolOn = (url: string, pooler: PoolerOption, options: { max?: number; reset?: 'auto' | 'always' } = {}) =>
    (pool = createPool(postgresConnector(url, { pooler }) as unknown as Connector<pg.Client>, { max: 1, ...options }))

  /** A plain pg client through PgBouncer: "another client" of the same server connection. */
  async function otherClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pgDriver.Client({ connectionString: single() })
    client.on('error', () => {})
    await client.connect()
    try {
      return await work(client)
    } finally {
      await client.end()
    }
  }
  const statementTimeoutSeenByAnother = () =>
    otherClient(
      async (client) =>
        (await client.query<{ v: string }>("SELECT current_setting('statement_timeout') AS v")).rows[0]!.v,
    )

  beforeAll(async () => {
    assertAvailable(target)
    admin = await openAdmin(direct)
    await admin
      .query('CREATE TABLE IF NOT EXISTS kp_core_pgb_rows (id serial PRIMARY KEY, marker text NOT NULL)')
      .catch((error: { code?: string }) => {
        if (error.code !== '23505' && error.code !== '42P07') throw error
      })
  })

  afterEach(async () => {
    await pool?.destroy({ graceMillis: 0 })
    pool = undefined
  })

  afterAll(async () => {
    await admin?.close()
  })

  it("without the guard (pooler: 'none'), a SET leaks to the next client of the server connection", async () => {
    // Why the guard exists: this is the leak, shown on the real pooler.
    await otherClient((client) => client.query("SET statement_timeout = '4321'"))
    try {
      expect(await statementTimeoutSeenByAnother()).toBe('4321ms')
    } finally {
      await otherClient((client) => client.query('RESET statement_timeout'))
    }
  })

  it("with pooler: 'transaction', the same SET is refused before it is sent and the next client sees a clean session", async () => {
    poolOn(single(), 'transaction')
    await pool!.use(async (connection) => {
      const sent = countRoundTrips(direct, connection)
      const error = await connection.query("SET statement_timeout = '4321'").catch((e: unknown) => e)
      expect(error).toBeInstanceOf(SessionStateError)
      expect(error).toMatchObject({ code: 'POOL_SESSION_STATE', kind: 'SET', inTransaction: false })
      expect((error as Error).message).toMatch(/SET LOCAL/)
      expect(sent.count()).toBe(0)
    })
    expect(await statementTimeoutSeenByAnother()).toBe('0')
  })

  const refused: ReadonlyArray<readonly [string, string | pg.QueryConfig]> = [
    ['SET', 'SET search_path = public'],
    ['set_config(…, false)', "SELECT set_config('statement_timeout', '99', false)"],
    ['session advisory lock', 'SELECT pg_advisory_lock(770042)'],
    ['LISTEN', 'LISTEN kp_core_pgb'],
    ['PREPARE', 'PREPARE kp_core_pgb_p AS SELECT 1'],
    ['DECLARE … WITH HOLD', 'DECLARE kp_core_pgb_c CURSOR WITH HOLD FOR SELECT 1'],
    ['temporary object', 'CREATE TEMP TABLE kp_core_pgb_tmp (a int)'],
    ['named prepared statement', { name: 'kp_core_pgb_named', text: 'SELECT 1' }],
  ]

  it.each(refused)(
    'refuses %s outside and inside a transaction, sending nothing, and the transaction stays usable',
    async (kind, statement) => {
      poolOn(target.url, 'transaction')
      await pool!.use(async (connection) => {
        const sent = countRoundTrips(direct, connection)
        await expect(connection.query(statement as string)).rejects.toMatchObject({ kind, inTransaction: false })
        expect(sent.count()).toBe(0)
        await connection.query('BEGIN')
        await expect(connection.query(statement as string)).rejects.toMatchObject({ kind, inTransaction: true })
        expect(sent.statements).toEqual(['BEGIN'])
        expect(connection.getTransactionStatus()).toBe('T')
        await connection.query('COMMIT')
      })
    },
  )

  it('refuses through the callback and Submittable forms of client.query too', async () => {
    poolOn(target.url, 'transaction')
    await pool!.use(async (connection) => {
      const viaCallback = await new Promise<unknown>((resolve) =>
        connection.query('LISTEN x', (error: Error) => resolve(error)),
      )
      expect(viaCallback).toBeInstanceOf(SessionStateError)
      const submittable = new pgDriver.Query('SELECT pg_advisory_lock(1)')
      const viaSubmittable = new Promise<unknown>((resolve) => submittable.on('error', resolve))
      connection.query(submittable)
      expect(await viaSubmittable).toMatchObject({ kind: 'session advisory lock' })
      expect((await connection.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    })
  })

  it('runs the transaction-scoped forms inside a transaction, and they end with it', async () => {
    poolOn(single(), 'transaction')
    await pool!.use(async (connection) => {
      await connection.query('BEGIN')
      await connection.query("SET LOCAL statement_timeout = '4321'")
      await connection.query("SELECT set_config('kp_core.pgb', 'on', true)")
      await connection.query('SELECT pg_advisory_xact_lock(770043)')
      await connection.query('CREATE TEMP TABLE kp_core_pgb_xact (a int) ON COMMIT DROP')
      await connection.query('DECLARE kp_core_pgb_cur CURSOR FOR SELECT 7 AS n')
      expect((await connection.query('FETCH 1 FROM kp_core_pgb_cur')).rows).toEqual([{ n: 7 }])
      expect((await connection.query("SELECT current_setting('statement_timeout') AS v")).rows).toEqual([
        { v: '4321ms' },
      ])
      await connection.query('COMMIT')
    })
    expect(pool!.stats().resetOnRelease).toBe(0)
    expect(await statementTimeoutSeenByAnother()).toBe('0')
    const leftovers = await otherClient(
      async (client) =>
        (
          await client.query(
            "SELECT to_regclass('kp_core_pgb_xact') IS NULL AS gone, current_setting('kp_core.pgb', true) AS v",
          )
        ).rows[0],
    )
    expect(leftovers).toEqual({ gone: true, v: '' })
  })

  it('rolls back a transaction abandoned at release (the transaction status passes through the pooler)', async () => {
    poolOn(target.url, 'transaction')
    const marker = randomUUID()
    await pool!.use(async (connection) => {
      await connection.query('BEGIN')
      await connection.query('INSERT INTO kp_core_pgb_rows (marker) VALUES ($1)', [marker])
    })
    expect(pool!.stats().rolledBackOnRelease).toBe(1)
    expect(await admin.query('SELECT count(*)::int AS n FROM kp_core_pgb_rows WHERE marker = ?', [marker])).toEqual([
      { n: 0 },
    ])
    // The connection was cleaned, not closed, and serves the next borrower.
    expect(pool!.stats().destroyed).toBe(0)
    expect(await pool!.use(async (connection) => connection.getTransactionStatus())).toBe('I')
  })

  it('rolls back a failed transaction at release', async () => {
    poolOn(target.url, 'transaction')
    await pool!.use(async (connection) => {
      await connection.query('BEGIN')
      await connection.query('SELECT 1/0').catch(() => {})
    })
    expect(pool!.stats().rolledBackOnRelease).toBe(1)
    expect((await pool!.use((connection) => connection.query('SELECT 2 AS two'))).rows).toEqual([{ two: 2 }])
  })

  it("never sends DISCARD ALL or DEALLOCATE, even with reset: 'always'", async () => {
    poolOn(target.url, 'transaction', { reset: 'always' })
    const statements: string[] = []
    for (let i = 0; i < 3; i++) {
      await pool!.use(async (connection) => {
        statements.push(...countRoundTrips(direct, connection).statements)
        await connection.query('BEGIN')
        await connection.query('SELECT 1')
        // left open: rolled back at release
      })
    }
    expect(pool!.stats().rolledBackOnRelease).toBe(3)
    expect(pool!.stats().destroyed).toBe(0)
    expect(statements.join('\n')).not.toMatch(/DISCARD|DEALLOCATE/i)
  })

  it('closes, rather than resets, a connection whose statement the guard could not read', async () => {
    const closing = poolOn(target.url, 'transaction')
    const errors: string[] = []
    closing.on('error', ({ error }) => errors.push(error.message))
    let sent: ReturnType<typeof countRoundTrips> | undefined
    await closing.use(async (client) => {
      const connection = client as unknown as pg.Client
      sent = countRoundTrips(direct, connection)
      // A Submittable that hides its text: the guard cannot classify it.
      const inner = new pgDriver.Query('SELECT 1')
      const opaque = new Proxy(inner, {
        get: (query, key) =>
          key === 'text'
            ? undefined
            : typeof Reflect.get(query, key) === 'function'
              ? Reflect.get(query, key).bind(query)
              : Reflect.get(query, key),
      })
      const ended = new Promise((resolve) => inner.on('end', resolve))
      connection.query(opaque as unknown as pg.Query)
      await ended
    })
    // Released: the session was flagged, so the pool closed the connection without a DISCARD ALL.
    expect(sent!.statements).toEqual(['SELECT 1'])
    expect(closing.stats().destroyed).toBe(1)
    expect(errors.join('\n')).toContain('closing the connection instead of sending DISCARD ALL')
  })

  /** A long sleep only this test runs, and how many of it the server is running. */
  const sleeper = () => {
    const text = `SELECT pg_sleep(60) /* kp-core-pgb-${randomUUID()} */`
    const running = () =>
      admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = ? AND state = 'active'", [text])
    return { text, running }
  }

  it("cancels a running statement through PgBouncer ('query' interrupt)", async () => {
    poolOn(target.url, 'transaction')
    const lease = await pool!.acquire()
    const sleep = sleeper()
    const running = lease.connection.query(sleep.text).catch((e: { code?: string }) => e)
    await expect.poll(sleep.running, { timeout: 10_000 }).toEqual([{ n: 1 }])
    await lease.interrupt('query')
    expect(await running).toMatchObject({ code: '57014' }) // query_canceled
    await lease.release()
  })

  it("ends a session ('session' interrupt) without pg_terminate_backend: the pid a pooler hands out is not a server process", async () => {
    poolOn(target.url, 'transaction')
    const lease = await pool!.acquire()
    const serverPid = (await lease.connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
    expect((lease.connection as unknown as { processID: number }).processID).not.toBe(serverPid)
    const sleep = sleeper()
    const running = lease.connection.query(sleep.text).catch((e: unknown) => e)
    await expect.poll(sleep.running, { timeout: 10_000 }).toEqual([{ n: 1 }])
    await lease.interrupt('session')
    expect(await running).toBeInstanceOf(Error)
    // The statement was cancelled on the server; the server connection itself lives on in PgBouncer's pool.
    await expect.poll(sleep.running, { timeout: 10_000 }).toEqual([{ n: 0 }])
    await lease.release()
    expect(pool!.stats().destroyed).toBe(1)
  })

  it('sends named statements when the pooler tracks them (preparedStatements: true)', async () => {
    // kp_single has one server connection, so even PgBouncer 1.18 finds the statement again.
    poolOn(single(), { mode: 'transaction', preparedStatements: true })
    await pool!.use(async (connection) => {
      const named = { name: `kp_core_pgb_${randomUUID().slice(0, 8)}`, text: 'SELECT $1::int + 1 AS n', values: [1] }
      expect((await connection.query(named)).rows).toEqual([{ n: 2 }])
      expect((await connection.query({ ...named, values: [41] })).rows).toEqual([{ n: 42 }])
      // The pooler tracks them; a client DEALLOCATE would break that tracking.
      await expect(connection.query('DEALLOCATE ALL')).rejects.toMatchObject({ kind: 'DEALLOCATE' })
    })
  })
})
