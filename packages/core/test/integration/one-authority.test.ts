import type { EventEmitter } from 'node:events'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createPool, mysqlConnector, postgresConnector, type Connector, type Pool } from '../../src/index.js'
import { startFaultProxy, testDatabases } from '../../src/testing/index.js'
import {
  connectorFor,
  isRunning,
  killFromOutside,
  openAdmin,
  run,
  serverId,
  urlWithDatabase,
  type Admin,
  type DriverConnection,
} from '../connector/support/databases.js'

// Issue 16 on the real servers: a session ended during onConnect, the
// pool's own cancel racing the next holder, a busy connection evicted, what
// destroy() leaves behind, and a password holding '@' in the URL's query.
const TRIALS = 200

describe.each(testDatabases())('one authority over a connection on $dialect', (db) => {
  const isPostgres = db.dialect === 'postgres'
  const sleep = (seconds: number) => (isPostgres ? `SELECT pg_sleep(${seconds})` : `SELECT SLEEP(${seconds})`)
  let admin: Admin
  let pool: Pool<DriverConnection> | undefined

  beforeAll(async () => {
    admin = await openAdmin(db)
  })
  afterEach(async () => {
    await pool?.destroy({ graceMillis: 0 })
    pool = undefined
  })
  afterAll(async () => {
    await admin.close()
  })

  it('a session ended during onConnect is never lent, its slot is reused, destroy() settles', async () => {
    let first = true
    pool = createPool(connectorFor(db), {
      max: 1,
      onConnect: async (connection) => {
        if (!first) return
        first = false
        // The hook succeeds, but the session is gone by the time it returns.
        const ended = new Promise((resolve) => (connection as unknown as EventEmitter).once('end', resolve))
        await killFromOutside(db, admin, serverId(db, connection))
        await ended
      },
    })
    pool.on('error', () => {})
    for (let i = 0; i < 3; i++) {
      expect(await pool.use((connection) => run(db, connection, 'SELECT 1 AS one'))).toEqual([{ one: 1 }])
    }
    await pool.destroy({ graceMillis: 0 })
    expect(pool.stats().size).toBe(0)
  })

  it(`the pool's cancel never reaches the next holder's statement (${TRIALS} trials)`, async () => {
    pool = createPool(connectorFor(db), { max: 1 })
    pool.on('error', () => {})
    let hitNext = 0
    for (let i = 0; i < TRIALS; i++) {
      const lease = await pool.acquire()
      // A statement that ends on its own about when the release's cancel reaches the server.
      const own = run(db, lease.connection, 'SELECT 1').catch(() => undefined)
      const next = pool.use((connection) => run(db, connection, sleep(0.002)))
      await lease.release()
      await own
      await next.catch((error: { code?: string; errno?: number }) => {
        if (error.code === '57014' || error.errno === 1317) hitNext++
        else throw error
      })
    }
    // Printed for the closing note.
    console.log(`${db.dialect}: cancels that hit the next holder: ${hitNext} of ${TRIALS}`)
    expect(hitNext).toBe(0)
  }, 120_000)

  it('evicting a busy connection (lease.destroy()) cancels its statement first', async () => {
    pool = createPool(connectorFor(db), { max: 1 })
    const lease = await pool.acquire()
    const id = serverId(db, lease.connection)
    const running = run(db, lease.connection, `${sleep(3)} /* authority-evict */`).catch(() => undefined)
    await expect.poll(() => isRunning(db, admin, id, 'authority-evict')).toBe(true)
    await lease.destroy()
    await expect.poll(() => isRunning(db, admin, id, 'authority-evict'), { timeout: 1_000 }).toBe(false)
    await running
  })

  it('destroy() resolves with no socket and no timer of the pool left, interrupts included', async () => {
    const count = () => {
      const info = process.getActiveResourcesInfo()
      return {
        sockets: info.filter((kind) => kind === 'TCPSocketWrap').length,
        timers: info.filter((kind) => kind === 'Timeout').length,
      }
    }
    const before = count()
    const local = createPool(connectorFor(db), { max: 2, leakDetectionMillis: 60_000, idleTimeoutMillis: 10_000 })
    const lease = await local.acquire()
    const id = serverId(db, lease.connection)
    const running = run(db, lease.connection, `${sleep(2)} /* authority-destroy */`).catch(() => undefined)
    await expect.poll(() => isRunning(db, admin, id, 'authority-destroy')).toBe(true)
    // An interrupt in flight when destroy() starts.
    const interrupting = lease.interrupt('query')
    await local.destroy({ graceMillis: 0 })
    await running
    await interrupting
    const after = count()
    expect(after.sockets).toBeLessThanOrEqual(before.sockets)
    expect(after.timers).toBeLessThanOrEqual(before.timers)
  })

  it('destroy() leaves no socket and no timer when the interrupt went down a dead path', async () => {
    const count = () => ({ timers: process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length })
    const target = new URL(db.url)
    const proxy = await startFaultProxy({ target: { host: target.hostname, port: Number(target.port) } })
    try {
      const before = count()
      // interruptTimeoutMillis far beyond the test's own bound: only closing the connection can end the cancel.
      const local = createPool(connectorFor(db, proxy.url(db.url), { interruptTimeoutMillis: 60_000 }), {
        max: 1,
        cleanupTimeoutMillis: 300,
      })
      local.on('error', () => {})
      const lease = await local.acquire()
      const running = run(db, lease.connection, `${sleep(2)} /* authority-dead-path */`).catch(() => undefined)
      await proxy.setMode('blackhole')
      // The cancel (PostgreSQL's cancel socket, MySQL's KILL connection) meets the hole too.
      const interrupting = lease.interrupt('query')
      const started = performance.now()
      await local.destroy({ graceMillis: 0 })
      await running
      await interrupting
      expect(performance.now() - started).toBeLessThan(5_000)
      // Every socket of the pool went through the proxy: the proxy sees each one's close.
      await expect.poll(() => proxy.connections, { timeout: 2_000 }).toBe(0)
      expect(count().timers).toBeLessThanOrEqual(before.timers)
    } finally {
      await proxy.close()
    }
  }, 60_000)

  const password = 'Kp6Xr2Nm@Qw7Zt5Ly'
  /** Every way a password reaches the connector, each with a literal '@' in it. */
  const passwordSources = (): [string, () => Connector<DriverConnection>][] => {
    const base = new URL(urlWithDatabase(db.url, 'authority_no_such_db'))
    const withQuery = (query: string) => {
      const url = new URL(base)
      url.search = query
      return url.toString().replace('%40', '@')
    }
    const userinfo = new URL(base)
    userinfo.password = encodeURIComponent(password)
    const config = {
      host: base.hostname,
      port: Number(base.port),
      user: decodeURIComponent(base.username) || 'root',
      database: 'authority_no_such_db',
    }
    const key = isPostgres ? 'password' : 'password1'
    const sources: [string, () => Connector<DriverConnection>][] = [
      ['URL userinfo (encoded)', () => connectorFor(db, userinfo.toString())],
      [`?${key}= raw`, () => connectorFor(db, withQuery(`?${key}=${password}`))],
      [`?${key}= encoded`, () => connectorFor(db, withQuery(`?${key}=${encodeURIComponent(password)}`))],
    ]
    if (isPostgres) {
      sources.push(
        ['config field', () => postgresConnector({ ...config, password }) as Connector<DriverConnection>],
        [
          'password function',
          () => postgresConnector({ ...config, password: () => password }) as Connector<DriverConnection>,
        ],
        [
          'PGPASSWORD',
          () => {
            process.env.PGPASSWORD = password
            return postgresConnector({ ...config }) as Connector<DriverConnection>
          },
        ],
      )
    } else {
      sources.push(['config field', () => mysqlConnector({ ...config, password }) as Connector<DriverConnection>])
    }
    return sources
  }

  it("a password holding '@' leaks nowhere, from every source", async () => {
    for (const [source, connector] of passwordSources()) {
      const seen: string[] = []
      try {
        const local = createPool(connector(), {
          max: 1,
          acquireTimeoutMillis: 2_000,
          log: (entry) => seen.push(`${entry.message} ${entry.error?.stack ?? ''}`),
        })
        local.on('error', (event) => seen.push(`${event.context} ${event.error.message} ${event.error.stack ?? ''}`))
        const error = (await local.acquire().catch((caught: unknown) => caught)) as Error
        seen.push(error.message, error.stack ?? '', local.connector.target)
        await local.destroy({ graceMillis: 0 })
      } finally {
        delete process.env.PGPASSWORD
      }
      const text = seen.join('\n')
      expect(text, source).toContain('127.0.0.1')
      for (const piece of password.split('@')) {
        for (let i = 0; i + 4 <= piece.length; i++) expect(text, source).not.toContain(piece.slice(i, i + 4))
      }
    }
  })
})
