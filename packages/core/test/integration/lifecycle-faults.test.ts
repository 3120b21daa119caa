import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createPool, PoolTimeoutError, type Pool } from '../../src/index.js'
import { startFaultProxy, testDatabases, type FaultProxy } from '../../src/testing/index.js'
import {
  connectorFor,
  openAdmin,
  run,
  serverId,
  sessionExists,
  type Admin,
  type DriverConnection,
} from '../connector/support/databases.js'

// The connection lifecycle (issue 8) on the real servers, through a loopback
// fault proxy: a connection that dies during its validation ping, a session
// kill started by a lease that was released at once, and a ping on a dead
// path bounded by the caller's deadline and signal.
describe.each(testDatabases())('connection lifecycle under faults on $dialect', (db) => {
  const isPostgres = db.dialect === 'postgres'
  const serverPort = Number(new URL(db.url).port || (isPostgres ? 5432 : 3306))
  let proxy: FaultProxy
  let admin: Admin
  let pool: Pool<DriverConnection> | undefined

  beforeAll(async () => {
    proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: serverPort } })
    admin = await openAdmin(db)
  })
  afterEach(async () => {
    await proxy.setMode('pass')
    await pool?.destroy({ graceMillis: 0 })
    pool = undefined
  })
  afterAll(async () => {
    await proxy.close()
    await admin.close()
  })

  /** Lets a connection's idle time pass `validateAfterIdleMillis` without a fixed sleep. */
  async function idleFor(millis: number): Promise<void> {
    const until = performance.now() + millis
    await expect.poll(() => performance.now() >= until).toBe(true)
  }

  it('a connection that dies during its validation ping is replaced, and destroy() still finishes', async () => {
    pool = createPool(connectorFor(db, proxy.url(db.url)), { max: 1, validateAfterIdleMillis: 5 })
    pool.on('error', () => {})
    const first = await pool.use((connection) => serverId(db, connection))
    await idleFor(20)
    proxy.resetOnNextWrite() // the NAT forgot the flow: the ping's write meets a reset
    const next = await pool.use((connection) => {
      expect(serverId(db, connection)).not.toBe(first)
      return run(db, connection, 'SELECT 1 AS one')
    })
    expect(next).toEqual([{ one: 1 }])
    expect(pool.stats()).toMatchObject({ size: 1, used: 0, idle: 1, destroyed: 1 })
    await pool.destroy({ graceMillis: 0 })
    expect(pool.stats().size).toBe(0)
  })

  it("a session kill from a lease released at once never reaches the next holder's session", async () => {
    pool = createPool(connectorFor(db), { max: 1 })
    const lease = await pool.acquire()
    const killedId = serverId(db, lease.connection)
    const killing = lease.interrupt('session')
    await lease.release()
    // The next holder gets a new session: the one asked to die is never lent again.
    const nextId = await pool.use(async (connection) => {
      await killing
      expect(await run(db, connection, 'SELECT 2 AS two')).toEqual([{ two: 2 }])
      return serverId(db, connection)
    })
    expect(nextId).not.toBe(killedId)
    expect(await sessionExists(db, admin, nextId)).toBe(true)
  })

  it('a ping on a dead path costs the caller its own deadline, and its signal ends the wait', async () => {
    pool = createPool(connectorFor(db, proxy.url(db.url)), {
      max: 2,
      validateAfterIdleMillis: 5,
      acquireTimeoutMillis: 500,
      createTimeoutMillis: 3_000,
      cleanupTimeoutMillis: 500,
    })
    pool.on('error', () => {})
    const leases = await Promise.all([pool.acquire(), pool.acquire()])
    await Promise.all(leases.map((lease) => lease.release()))
    await idleFor(20)
    await proxy.setMode('blackhole')
    const timedOut = await pool.acquire().catch((error: unknown) => error)
    expect(timedOut).toBeInstanceOf(PoolTimeoutError)
    // Bounded by acquireTimeoutMillis, not by createTimeoutMillis (the ping's own bound).
    expect((timedOut as PoolTimeoutError).waitedMillis).toBeLessThan(3_000)

    const controller = new AbortController()
    const aborted = pool.acquire({ signal: controller.signal }).catch((error: unknown) => error)
    await expect.poll(() => proxy.droppedBytes).toBeGreaterThan(0)
    controller.abort(new Error('the user went away'))
    expect(((await aborted) as Error).message).toBe('the user went away')
    expect(pool.stats().aborted).toBe(1)
  })
})
