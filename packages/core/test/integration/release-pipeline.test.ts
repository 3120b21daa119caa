import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createPool, LeaseRevokedError, type Pool } from '../../src/index.js'
import { testDatabases } from '../../src/testing/index.js'
import {
  connectorFor,
  countRoundTrips,
  eventually,
  killFromOutside,
  openAdmin,
  run,
  serverId,
  sleep,
  type Admin,
  type DriverConnection,
} from '../connector/support/databases.js'

describe.each(testDatabases())('release pipeline on $dialect', (db) => {
  const isPostgres = db.dialect === 'postgres'
  const connector = connectorFor(db)
  const sleepSql = (seconds: number) => (isPostgres ? `SELECT pg_sleep(${seconds})` : `SELECT SLEEP(${seconds})`)
  const insertSql = 'INSERT INTO kp_core_rel_rows (marker) VALUES (?)'
  let admin: Admin
  let pool: Pool<DriverConnection>

  const visibleRows = async (marker: string) =>
    Number(
      Object.values(
        (await admin.query('SELECT COUNT(*) AS n FROM kp_core_rel_rows WHERE marker = ?', [marker]))[0]!,
      )[0],
    )

  beforeAll(async () => {
    admin = await openAdmin(db)
    await admin
      .query(
        isPostgres
          ? 'CREATE TABLE IF NOT EXISTS kp_core_rel_rows (id serial PRIMARY KEY, marker text NOT NULL)'
          : 'CREATE TABLE IF NOT EXISTS kp_core_rel_rows (id int AUTO_INCREMENT PRIMARY KEY, marker varchar(64) NOT NULL) ENGINE=InnoDB',
      )
      .catch((error: { code?: string }) => {
        if (error.code !== '23505' && error.code !== '42P07') throw error
      })
  })

  afterEach(async () => {
    await pool?.destroy({ graceMillis: 0 })
  })

  afterAll(async () => {
    await admin.close()
  })

  it('rolls back a transaction left open at release', async () => {
    pool = createPool(connector, { max: 1 })
    const marker = randomUUID()
    const firstId = await pool.use(async (connection, lease) => {
      await run(db, connection, 'BEGIN')
      await run(db, connection, insertSql, [marker])
      expect(lease.transactionState()).toBe('in-transaction')
      return serverId(db, connection)
    })
    expect(await visibleRows(marker)).toBe(0)
    expect(pool.stats().rolledBackOnRelease).toBe(1)
    await pool.use(async (connection, lease) => {
      expect(serverId(db, connection)).toBe(firstId)
      expect(lease.transactionState()).toBe('idle')
      expect(
        await run(db, connection, 'SELECT COUNT(*) AS n FROM kp_core_rel_rows WHERE marker = ?', [marker]),
      ).toEqual([{ n: isPostgres ? '0' : 0 }])
    })
  })

  it('cleans a failed transaction', async () => {
    pool = createPool(connector, { max: 1 })
    const marker = randomUUID()
    const rollbacks: string[] = []
    pool.on('rollback', ({ state }) => rollbacks.push(state))
    await pool.use(async (connection) => {
      await run(db, connection, 'BEGIN')
      await run(db, connection, insertSql, [marker])
      await expect(run(db, connection, 'SELECT no_such_column FROM kp_core_rel_rows')).rejects.toThrow()
    })
    expect(rollbacks).toEqual([isPostgres ? 'failed' : 'unknown'])
    expect(await visibleRows(marker)).toBe(0)
    // No "current transaction is aborted" for the next borrower.
    expect(await pool.use((connection) => run(db, connection, 'SELECT 1 AS one'))).toEqual([{ one: 1 }])
  })

  it('cancels a statement still in flight at release, then rolls back', async () => {
    pool = createPool(connector, { max: 1 })
    const marker = randomUUID()
    const lease = await pool.acquire()
    const connection = lease.connection
    await run(db, connection, 'BEGIN')
    await run(db, connection, insertSql, [marker])
    const inFlight = run(db, connection, sleepSql(30)).then(
      () => 'done',
      () => 'failed',
    )
    await lease.release() // while SLEEP runs: it is cancelled at once, not waited for
    expect(await inFlight).toBe('failed')
    expect(await visibleRows(marker)).toBe(0)
    await pool.use(async (next, nextLease) => {
      expect(next).toBe(connection)
      expect(nextLease.transactionState()).toBe('idle')
      expect(await run(db, next, 'SELECT 2 AS two')).toEqual([{ two: 2 }])
    })
    expect(pool.stats()).toMatchObject({ rolledBackOnRelease: 1 })
  })

  it('sends nothing but the borrower’s own statements on a clean release', async () => {
    pool = createPool(connector, { max: 1 })
    const marker = randomUUID()
    const lease = await pool.acquire()
    const trips = countRoundTrips(db, lease.connection)
    await run(db, lease.connection, 'SELECT 1')
    await lease.release()
    await pool.use(async (connection) => {
      await run(db, connection, 'BEGIN')
      await run(db, connection, `INSERT INTO kp_core_rel_rows (marker) VALUES ('${marker}')`)
      await run(db, connection, 'COMMIT')
    })
    await pool.use((connection) => run(db, connection, 'SELECT 2'))
    expect(trips.statements).toEqual([
      'SELECT 1',
      'BEGIN',
      `INSERT INTO kp_core_rel_rows (marker) VALUES ('${marker}')`,
      'COMMIT',
      'SELECT 2',
    ])
    expect(pool.stats()).toMatchObject({ created: 1, rolledBackOnRelease: 0, resetOnRelease: 0 })
    expect(await visibleRows(marker)).toBe(1)
  })

  it('evicts an idle connection killed on the server, without crashing, and serves the next acquire', async () => {
    pool = createPool(connector, { max: 2 })
    const errors: string[] = []
    pool.on('error', ({ context }) => errors.push(context))
    const killedId = await pool.use((connection) => serverId(db, connection))
    expect(pool.stats().idle).toBe(1)
    await killFromOutside(db, admin, killedId)
    expect(await eventually(() => pool.stats().size === 0)).toBe(true)
    expect(errors.some((context) => context.includes('broke'))).toBe(true)
    const nextId = await pool.use((connection) => serverId(db, connection))
    expect(nextId).not.toBe(killedId)
  })

  it('destroys a held connection killed on the server when it is released', async () => {
    pool = createPool(connector, { max: 1 })
    pool.on('error', () => {})
    const lease = await pool.acquire()
    const killedId = serverId(db, lease.connection)
    await killFromOutside(db, admin, killedId)
    await expect(run(db, lease.connection, 'SELECT 1')).rejects.toThrow()
    await lease.release()
    // The server's goodbye may still be on its way: the release does not wait for it.
    await expect.poll(() => pool!.stats().destroyed).toBe(1)
    const nextId = await pool.use((connection) => serverId(db, connection))
    expect(nextId).not.toBe(killedId)
  })

  it('destroy({ graceMillis }) revokes a lease inside a transaction and rolls it back', async () => {
    pool = createPool(connector, { max: 2 })
    const marker = randomUUID()
    const lease = await pool.acquire()
    await run(db, lease.connection, 'BEGIN')
    await run(db, lease.connection, insertSql, [marker])
    const id = serverId(db, lease.connection)
    await pool.destroy({ graceMillis: 100 })
    expect(pool.closed).toBe(true)
    expect(pool.stats().revoked).toBe(1)
    expect(() => lease.connection).toThrow(LeaseRevokedError)
    expect(await visibleRows(marker)).toBe(0)
    // Everything was closed: the session is gone on the server.
    expect(
      await eventually(async () =>
        isPostgres
          ? (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = ?', [id])).length === 0
          : (await admin.query('SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ?', [id])).length === 0,
      ),
    ).toBe(true)
  })

  it('destroy({ graceMillis }) lets a lease that comes back in time finish cleanly', async () => {
    pool = createPool(connector, { max: 2 })
    const lease = await pool.acquire()
    const destroying = pool.destroy({ graceMillis: 5_000 })
    await sleep(50)
    expect(await run(db, lease.connection, 'SELECT 1 AS one')).toEqual([{ one: 1 }])
    await lease.release()
    await destroying
    expect(pool.stats().revoked).toBe(0)
  })
})
