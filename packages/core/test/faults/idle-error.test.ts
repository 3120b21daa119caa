import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, type PoolLogEntry } from '../../src/index.js'
import { testDatabases } from '../../src/testing/index.js'
import { connectorFor, openAdmin, run, type Admin } from '../connector/support/databases.js'
import {
  byApplicationName,
  byUser,
  createUser,
  dropUser,
  FaultReport,
  ProcessWatch,
  settle,
  sleepSql,
  type SessionFilter,
} from './support/fault-harness.js'

/*
 * An idle connection killed from the server side while nobody listens for
 * errors. pg.Pool re-emits the idle client's error on itself, and an
 * 'error' event without a listener crashes the process: measured in a child
 * process. Ours hears the break, closes the connection and carries on.
 */

const PASSWORD = 'kp-fault-pw'
const stockScript = fileURLToPath(new URL('./support/stock-idle-error.mjs', import.meta.url))

describe.each(testDatabases())('an idle connection killed, no error listener, on $dialect', (db) => {
  const isPostgres = db.dialect === 'postgres'
  const user = `kp_fault_idle_${randomUUID().slice(0, 6)}`
  const report = new FaultReport()
  let admin: Admin

  beforeAll(async () => {
    admin = await openAdmin(db)
    if (!isPostgres) await createUser(db, admin, user, PASSWORD, new URL(db.url).pathname.slice(1))
  })
  afterAll(async () => {
    report.print(`idle connection killed on ${db.dialect}`)
    if (!isPostgres) await dropUser(db, admin, user)
    await admin?.close()
  })

  function sessions(): SessionFilter {
    return isPostgres ? byApplicationName(admin, db.url) : byUser(db, admin, db.url, user, PASSWORD)
  }

  it('our pool: the process lives, the connections are closed and replaced, nothing is left', async () => {
    const filter = sessions()
    const logged: PoolLogEntry[] = []
    // No 'error' listener: what nobody hears goes to the log (by default process.emitWarning).
    const pool = createPool(connectorFor(db, filter.url), { max: 2, log: (entry) => logged.push(entry) })
    const watch = new ProcessWatch()
    await Promise.all([0, 1].map(() => pool.use((connection) => run(db, connection, sleepSql(db, 100)))))
    expect(pool.stats().idle).toBe(2)
    const killedAt = performance.now()
    await filter.killAll()
    await expect.poll(() => pool.stats().size, { timeout: 5_000 }).toBe(0)
    expect(await pool.use((connection) => run(db, connection, 'SELECT 1 AS one'))).toEqual([{ one: 1 }])
    const recovery = Math.round(performance.now() - killedAt)
    const subject = {
      label: 'kysely-pooled',
      query: async () => {},
      size: () => pool.stats().size,
      destroy: () => pool.destroy(),
      patienceMillis: 5_000,
    }
    const { atRest, socketsLeft } = await settle(subject, filter, watch)
    report.add({
      fault: 'idle connection killed, no error listener',
      database: db.dialect,
      pool: 'kysely-pooled',
      recoveryMillis: recovery,
      served: 1,
      failed: 0,
      hung: 0,
      socketsLeft,
      note: 'process lives; the break is logged',
    })
    expect(watch.unhandled).toEqual([])
    expect(logged.length).toBeGreaterThan(0)
    expect(logged.every((entry) => entry.level === 'error' || entry.level === 'warn')).toBe(true)
    expect(atRest.sessions).toBe(atRest.size)
    expect(socketsLeft).toBe(0)
  })

  it('stock pool (in a child process): pg.Pool crashes the process; mysql2 drops the connection', () => {
    const filter = sessions()
    const child = spawnSync(process.execPath, [stockScript, db.dialect, filter.url], {
      encoding: 'utf8',
      timeout: 20_000,
    })
    const crashed = child.status !== 0
    report.add({
      fault: 'idle connection killed, no error listener',
      database: db.dialect,
      pool: isPostgres ? 'pg.Pool' : 'mysql2 pool',
      recoveryMillis: crashed ? undefined : 0,
      served: child.stdout.includes('served') ? 1 : 0,
      failed: 0,
      hung: 0,
      socketsLeft: crashed ? 'process crashed' : 0,
      note: crashed
        ? `exit ${child.status}: ${/Unhandled 'error' event/.test(child.stderr) ? "unhandled 'error' event" : 'crash'}`
        : 'process lives',
    })
    if (isPostgres) {
      expect(crashed).toBe(true)
      expect(child.stderr).toMatch(/Unhandled 'error' event/)
      expect(child.stderr).toMatch(/terminating connection/)
    } else {
      expect(child.stdout).toContain('removed true')
      expect(child.stdout).toContain('served')
      expect(child.status).toBe(0)
    }
  })
})
