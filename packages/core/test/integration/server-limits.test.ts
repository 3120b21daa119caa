import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createPool, PoolConnectError, PoolTimeoutError, type Connector, type Pool } from '../../src/index.js'
import { testDatabases, type TestDatabase } from '../../src/testing/index.js'
import { startFakePostgresAuthServer } from '../connector/support/fake-postgres-auth.js'
import {
  connectorFor,
  eventually,
  openAdmin,
  run,
  sleep,
  urlWithUser,
  type Admin,
  type DriverConnection,
} from '../connector/support/databases.js'

const LIMITED_USER = 'kp_core_limited'
const LOAD_USER = 'kp_core_load_user'
const PASSWORD = 'kp-secret-pw'

/** Wraps a connector to count connection attempts. */
function countingConnects(connector: Connector<DriverConnection>): {
  connector: Connector<DriverConnection>
  attempts(): number
} {
  let attempts = 0
  // A Proxy that binds every method to the real connector (its #private fields live there).
  const counting = new Proxy(connector, {
    get(target, property) {
      if (property === 'connect') {
        return (options: Parameters<Connector<DriverConnection>['connect']>[0]) => {
          attempts++
          return target.connect(options)
        }
      }
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { connector: counting, attempts: () => attempts }
}

describe.each(testDatabases())('server limits on $dialect', (db) => {
  const isPostgres = db.dialect === 'postgres'
  let admin: Admin
  let pool: Pool<DriverConnection> | undefined

  beforeAll(async () => {
    admin = await openAdmin(db)
    await createUsers(db, admin)
  })

  afterEach(async () => {
    await pool?.destroy({ graceMillis: 0 })
    pool = undefined
    // The limited user's slot must be free again before the next test counts on it.
    await eventually(async () => (await sessionsOf(LIMITED_USER)) === 0)
  })

  afterAll(async () => {
    await admin.close()
  })

  async function sessionsOf(user: string, applicationName?: string): Promise<number> {
    const rows = isPostgres
      ? await admin.query(
          `SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE usename = ?${applicationName ? ' AND application_name = ?' : ''}`,
          applicationName ? [user, applicationName] : [user],
        )
      : await admin.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [user])
    return Number(rows[0]!.n)
  }

  it('keeps callers queued while the server refuses, and serves them as leases come back', async () => {
    const counted = countingConnects(connectorFor(db, urlWithUser(db.url, LIMITED_USER, PASSWORD)))
    pool = createPool(counted.connector, { max: 3, acquireTimeoutMillis: 20_000 })
    const errors: unknown[] = []
    pool.on('error', ({ error }) => errors.push(error))
    const first = await pool.acquire()
    const waiters = [pool.acquire(), pool.acquire()]
    // The server refuses the 2nd and 3rd connection: the pool keeps retrying with backoff meanwhile.
    await sleep(1_000)
    expect(pool.stats()).toMatchObject({ used: 1, pending: 2 })
    expect(pool.stats().createErrors).toBeGreaterThan(0)
    const attemptsWhileRefused = counted.attempts()
    // Backoff, not a storm: 50 ms doubling to 2 s allows about 6 rounds in a second (×2 creates in flight).
    expect(attemptsWhileRefused).toBeLessThanOrEqual(20)
    expect(await sessionsOf(LIMITED_USER)).toBe(1)

    await first.release()
    const second = await Promise.race(waiters)
    expect(await run(db, second.connection, 'SELECT 1 AS one')).toEqual([{ one: 1 }])
    await second.release()
    const third = (await Promise.all(waiters)).filter((lease) => lease !== second)
    expect(third).toHaveLength(1)
    await third[0]!.release()
    expect(pool.stats()).toMatchObject({ acquires: 3, timeouts: 0, size: 1 })
    expect(errors).toEqual([]) // transient refusals are not reported as errors
  })

  it('times out a waiter with a PoolTimeoutError that says the server is refusing', async () => {
    pool = createPool(connectorFor(db, urlWithUser(db.url, LIMITED_USER, PASSWORD)), {
      max: 3,
      acquireTimeoutMillis: 700,
    })
    const first = await pool.acquire()
    const error = await pool.acquire().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PoolTimeoutError)
    const timeout = error as PoolTimeoutError
    expect(timeout.reason).toBe('server-refusing')
    expect(timeout.message).toMatch(/refusing/)
    expect(timeout.lastCreateError).toBeInstanceOf(Error)
    expect(pool.connector.classifyConnectFailure(timeout.lastCreateError)).toBe('transient')
    expect(JSON.stringify(timeout, Object.getOwnPropertyNames(timeout)) + timeout.stack).not.toContain(PASSWORD)
    await first.release()
  })

  it('fails waiting callers fast with a password-free PoolConnectError on a wrong password', async () => {
    const fake = isPostgres ? await startFakePostgresAuthServer() : undefined
    const wrongPassword = 'kp-wrong-pw-integration'
    const url = fake
      ? `postgres://${LIMITED_USER}:${wrongPassword}@127.0.0.1:${fake.port}/test`
      : urlWithUser(db.url, LIMITED_USER, wrongPassword)
    try {
      // A minute of acquire timeout: only a fast failure lets this test finish inside its 30 s.
      pool = createPool(connectorFor(db, url), { max: 3, acquireTimeoutMillis: 60_000 })
      pool.on('error', () => {})
      const results = await Promise.allSettled([pool.acquire(), pool.acquire(), pool.use(() => 1)])
      for (const result of results) {
        expect(result.status).toBe('rejected')
        const error = (result as PromiseRejectedResult).reason as PoolConnectError
        expect(error).toBeInstanceOf(PoolConnectError)
        expect(error.code).toBe('POOL_CONNECT_FAILED')
        expect(error.message).toMatch(isPostgres ? /password authentication failed/ : /Access denied/)
        const cause = error.cause as Error
        const everything = [
          error.message,
          error.stack,
          JSON.stringify(error, Object.getOwnPropertyNames(error)),
          cause.message,
          cause.stack,
          JSON.stringify(cause, Object.getOwnPropertyNames(cause)),
          String(error),
        ].join('\n')
        expect(everything).not.toContain(wrongPassword)
        expect(everything).not.toContain(PASSWORD)
      }
      expect(pool.stats().timeouts).toBe(0)
    } finally {
      await fake?.close()
    }
  })

  it('serves 500 concurrent callers on max 5 and never opens more than 5 sessions', async () => {
    const applicationName = `kp_core_load_${randomUUID().slice(0, 8)}`
    const base = urlWithUser(db.url, LOAD_USER, PASSWORD)
    const url = isPostgres ? `${base}${base.includes('?') ? '&' : '?'}application_name=${applicationName}` : base
    pool = createPool(connectorFor(db, url), { max: 5, acquireTimeoutMillis: 25_000 })
    let maxSeen = 0
    let samples = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        maxSeen = Math.max(maxSeen, await sessionsOf(LOAD_USER, isPostgres ? applicationName : undefined))
        samples++
        await sleep(2)
      }
    })()
    const results = await Promise.allSettled(
      Array.from({ length: 500 }, (_, i) =>
        pool!.use(async (connection) => (await run(db, connection, 'SELECT ? AS i', [i]))[0]!.i),
      ),
    )
    sampling = false
    await sampler
    expect(results.filter((result) => result.status === 'rejected')).toEqual([])
    const values = results.map((result) => Number((result as PromiseFulfilledResult<unknown>).value))
    expect(values).toEqual(Array.from({ length: 500 }, (_, i) => i))
    expect(samples).toBeGreaterThan(0)
    expect(maxSeen).toBeGreaterThan(0)
    expect(maxSeen).toBeLessThanOrEqual(5)
    const stats = pool.stats()
    expect(stats).toMatchObject({ acquires: 500, pending: 0, used: 0, timeouts: 0 })
    expect(stats.created).toBeLessThanOrEqual(5)
    expect(await sessionsOf(LOAD_USER, isPostgres ? applicationName : undefined)).toBeLessThanOrEqual(5)
  })
})

/** `kp_core_limited` (one connection at most) and `kp_core_load_user`, created idempotently. */
async function createUsers(db: TestDatabase, admin: Admin): Promise<void> {
  if (db.dialect === 'postgres') {
    for (const statement of [
      `CREATE ROLE ${LIMITED_USER} LOGIN PASSWORD '${PASSWORD}' CONNECTION LIMIT 1`,
      `CREATE ROLE ${LOAD_USER} LOGIN PASSWORD '${PASSWORD}'`,
    ]) {
      await admin.query(statement).catch((error: { code?: string }) => {
        if (error.code !== '42710' && error.code !== '23505') throw error
      })
    }
    await admin.query(`ALTER ROLE ${LIMITED_USER} CONNECTION LIMIT 1`)
    return
  }
  const database = new URL(db.url).pathname.slice(1)
  await admin.query(
    `CREATE USER IF NOT EXISTS '${LIMITED_USER}'@'%' IDENTIFIED BY '${PASSWORD}' WITH MAX_USER_CONNECTIONS 1`,
  )
  await admin.query(`ALTER USER '${LIMITED_USER}'@'%' WITH MAX_USER_CONNECTIONS 1`)
  await admin.query(`CREATE USER IF NOT EXISTS '${LOAD_USER}'@'%' IDENTIFIED BY '${PASSWORD}'`)
  for (const user of [LIMITED_USER, LOAD_USER]) {
    await admin.query(`GRANT SELECT ON \`${database}\`.* TO '${user}'@'%'`)
  }
}
