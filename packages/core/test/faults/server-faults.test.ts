import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PoolConnectError } from '../../src/index.js'
import { testDatabase, type TestDatabase } from '../../src/testing/index.js'
import { connectorFor, openAdmin, type Admin } from '../connector/support/databases.js'
import { startThrowawayMariadb, startThrowawayPostgres, type ThrowawayServer } from '../support/throwaway-servers.js'
import {
  byUser,
  call,
  callUntilServed,
  FaultReport,
  faultUnderLoad,
  Load,
  ourSubject,
  ProcessWatch,
  recoveryMillis,
  settle,
  SizeSampler,
  sleepSql,
  stockSubject,
  tally,
  waitUntil,
  type FaultResult,
  type Outcome,
  type OurSubject,
  type SessionFilter,
  type Subject,
  expectHealthy as expectHealthyFault,
} from './support/fault-harness.js'

/*
 * The pool under server faults, on throwaway servers of the test's own (a
 * second PostgreSQL cluster, a second mariadbd; the machine's servers are
 * never restarted): a restart under load, the server at its connection
 * limit then freed, the password changed with connections open. Our pool
 * is held to the bounds; the stock pools go through the same script.
 */

const MAX = 5
const CALLERS = 50
const ACQUIRE_TIMEOUT_MILLIS = 3_000
const RECOVERY_BOUND_MILLIS = 5_000
const APP_USER = 'kp_app'
const PASSWORD = 'kp-app-pw-1'
const NEW_PASSWORD = 'kp-app-pw-2'
const DEADLINE_MILLIS = ACQUIRE_TIMEOUT_MILLIS + 1_000

describe.each([
  ['postgres', startThrowawayPostgres],
  ['mysql', startThrowawayMariadb],
] as const)('the pool under server faults on %s (throwaway server)', (dialect, startServer) => {
  const isPostgres = dialect === 'postgres'
  const report = new FaultReport()
  let server: ThrowawayServer
  let db: TestDatabase
  let admin: Admin

  beforeAll(async () => {
    server = await startServer()
    db = { ...testDatabase(dialect), url: server.url }
    if (isPostgres) {
      // Passwords are checked for the app user only: the superuser keeps trust.
      const hba = [
        'local all all trust',
        'host all postgres 127.0.0.1/32 trust',
        'host all all 127.0.0.1/32 scram-sha-256',
        '',
      ]
      writeFileSync(join((server as unknown as { dir: string }).dir, 'data', 'pg_hba.conf'), hba.join('\n'))
    }
    admin = reconnectingAdmin(db)
    if (isPostgres) {
      await admin.query('SELECT pg_reload_conf()')
      await admin.query(`CREATE ROLE ${APP_USER} LOGIN PASSWORD '${PASSWORD}'`)
    } else {
      await admin.query(`CREATE USER '${APP_USER}'@'%' IDENTIFIED BY '${PASSWORD}'`)
      await admin.query(`GRANT SELECT ON test.* TO '${APP_USER}'@'%'`)
    }
  }, 60_000)
  afterAll(async () => {
    report.print(`server faults on ${dialect} (throwaway server)`)
    await admin?.close()
    await server?.destroy()
  })

  function sessions(): SessionFilter {
    return byUser(db, admin, server.url, APP_USER, PASSWORD)
  }

  function ours(filter: SessionFilter, url = filter.url): OurSubject {
    return ourSubject(db, url, { max: MAX, acquireTimeoutMillis: ACQUIRE_TIMEOUT_MILLIS, createTimeoutMillis: 1_000 })
  }

  function stock(filter: SessionFilter): Subject {
    return stockSubject(db, filter.url, { max: MAX, acquireTimeoutMillis: ACQUIRE_TIMEOUT_MILLIS })
  }

  const record = (
    fault: string,
    subject: Subject,
    result: Pick<FaultResult, 'tally' | 'recoveryMillis' | 'socketsLeft'>,
    note?: string,
  ): void => report.record(fault, dialect, subject, result, note)

  const expectHealthy = (result: FaultResult): void => expectHealthyFault(result, MAX, RECOVERY_BOUND_MILLIS)

  // ------------------------------------------------------ restart under load

  const restartUnderLoad = (subject: Subject, filter: SessionFilter): Promise<FaultResult> =>
    faultUnderLoad(subject, filter, {
      callers: CALLERS,
      sql: sleepSql(db, 10),
      deadlineMillis: DEADLINE_MILLIS,
      recoveryBoundMillis: RECOVERY_BOUND_MILLIS,
      inject: async () => {
        const faultStart = performance.now()
        await server.restart()
        return { faultStart, faultEnd: performance.now() }
      },
    })

  it('a restart under load (50 callers, max 5): callers settle, the pool recovers, no socket is left', async () => {
    const filter = sessions()
    const subject = ours(filter)
    const result = await restartUnderLoad(subject, filter)
    record('server restart under load', subject, result)
    expectHealthy(result)
  })

  it('stock pool: a restart under load', async () => {
    const filter = sessions()
    const subject = stock(filter)
    const result = await restartUnderLoad(subject, filter)
    record('server restart under load', subject, result)
    await filter.killAll()
    expect(result.tally.served).toBeGreaterThan(0)
  })

  // ---------------------------------------------- connection limit, then freed

  /**
   * The app user may hold `MAX` sessions and other clients of that user hold
   * them all; 50 callers come; after a while the other clients go away.
   */
  async function atConnectionLimit(
    subject: Subject,
    filter: SessionFilter,
    refused: () => boolean,
  ): Promise<FaultResult> {
    await admin.query(
      isPostgres
        ? `ALTER ROLE ${APP_USER} CONNECTION LIMIT ${MAX}`
        : `ALTER USER '${APP_USER}'@'%' WITH MAX_USER_CONNECTIONS ${MAX}`,
    )
    const hogs = await Promise.all(Array.from({ length: MAX }, () => openSession(db, filter.url)))
    try {
      const watch = new ProcessWatch()
      const sampler = new SizeSampler(subject)
      const faultStart = performance.now()
      const load = new Load(subject, CALLERS, sleepSql(db, 10), DEADLINE_MILLIS).start()
      await expect.poll(refused, { timeout: 5_000 }).toBe(true)
      await Promise.all(hogs.splice(0).map((hog) => hog.close()))
      const faultEnd = performance.now()
      await waitUntil(() => recoveryMillis(load.outcomes, faultStart, faultEnd) !== undefined, RECOVERY_BOUND_MILLIS)
      await load.stop()
      sampler.stop()
      return {
        tally: tally(load.outcomes, DEADLINE_MILLIS),
        recoveryMillis: recoveryMillis(load.outcomes, faultStart, faultEnd),
        maxSize: sampler.max,
        unhandled: watch.unhandled,
        ...(await settle(subject, filter, watch)),
      }
    } finally {
      await Promise.all(hogs.map((hog) => hog.close()))
      await admin.query(
        isPostgres
          ? `ALTER ROLE ${APP_USER} CONNECTION LIMIT -1`
          : `ALTER USER '${APP_USER}'@'%' WITH MAX_USER_CONNECTIONS 0`,
      )
    }
  }

  it('the server at its connection limit, then freed: callers wait (no failure storm), then are served', async () => {
    const filter = sessions()
    const subject = ours(filter)
    const result = await atConnectionLimit(subject, filter, () => subject.pool.stats().createErrors > 0)
    record('server at its connection limit, then freed', subject, result)
    expectHealthy(result)
  })

  it('stock pool: the server at its connection limit, then freed', async () => {
    const filter = sessions()
    const subject = stock(filter)
    const outcomes: Outcome[] = []
    // A stock pool says nothing of its failed connects: a caller's failure is the sign.
    const result = await atConnectionLimit(subject, filter, () => {
      void call(subject, 'SELECT 1', DEADLINE_MILLIS, outcomes)
      return outcomes.some((outcome) => outcome.endedAt !== undefined && !outcome.ok)
    })
    record('server at its connection limit, then freed', subject, result)
    await filter.killAll()
    // The stock pools fail callers while the server refuses; ours keep them queued.
    expect(result.tally.failed).toBeGreaterThan(0)
  })

  // ---------------------------------------- password changed, connections open

  /**
   * Two connections open; the password changes on the server; 20 callers
   * come (phase 1). Then the open connections die, and 5 more callers come
   * (phase 2). Then the old password is back.
   */
  async function passwordChanged(
    subject: Subject,
    filter: SessionFilter,
  ): Promise<FaultResult & { phase1: Outcome[]; phase2: Outcome[] }> {
    const watch = new ProcessWatch()
    const sampler = new SizeSampler(subject)
    const warm: Outcome[] = []
    await Promise.all([0, 1].map(() => call(subject, sleepSql(db, 100), DEADLINE_MILLIS, warm)))
    expect(warm.every((outcome) => outcome.ok)).toBe(true)
    expect(subject.size()).toBe(2)
    const faultStart = performance.now()
    await admin.query(
      isPostgres
        ? `ALTER ROLE ${APP_USER} PASSWORD '${NEW_PASSWORD}'`
        : `ALTER USER '${APP_USER}'@'%' IDENTIFIED BY '${NEW_PASSWORD}'`,
    )
    const phase1: Outcome[] = []
    await Promise.all(Array.from({ length: 20 }, () => call(subject, sleepSql(db, 20), DEADLINE_MILLIS, phase1)))
    await filter.killAll()
    await waitUntil(() => subject.size() === 0, 5_000)
    const phase2: Outcome[] = []
    await Promise.all(Array.from({ length: 5 }, () => call(subject, 'SELECT 1', DEADLINE_MILLIS, phase2)))
    await admin.query(
      isPostgres
        ? `ALTER ROLE ${APP_USER} PASSWORD '${PASSWORD}'`
        : `ALTER USER '${APP_USER}'@'%' IDENTIFIED BY '${PASSWORD}'`,
    )
    const faultEnd = performance.now()
    const after: Outcome[] = []
    await callUntilServed(subject, subject.patienceMillis, after)
    sampler.stop()
    return {
      phase1,
      phase2,
      tally: tally([...phase1, ...phase2], DEADLINE_MILLIS),
      recoveryMillis: recoveryMillis(after, faultStart, faultEnd),
      maxSize: sampler.max,
      unhandled: watch.unhandled,
      ...(await settle(subject, filter, watch)),
    }
  }

  const describePhases = (result: { phase1: Outcome[]; phase2: Outcome[] }): string => {
    const phase1 = tally(result.phase1, DEADLINE_MILLIS)
    const phase2 = tally(result.phase2, DEADLINE_MILLIS)
    return `2 open: ${phase1.served} of 20 served; none open: ${phase2.failed} of 5 failed, slowest in ${phase2.slowestMillis} ms`
  }

  it('the password changed with connections open: open connections serve the queue; callers fail fast only when none is open', async () => {
    const filter = sessions()
    const subject = ours(filter)
    const result = await passwordChanged(subject, filter)
    record('password changed with connections open', subject, result, describePhases(result))
    expect(tally(result.phase1, DEADLINE_MILLIS)).toMatchObject({ served: 20, failed: 0, hung: 0 })
    for (const outcome of result.phase2) {
      expect(outcome.error).toMatch(new RegExp(`^${PoolConnectError.name}`))
      // Failed at once, not after the acquire timeout.
      expect(outcome.endedAt! - outcome.startedAt).toBeLessThan(ACQUIRE_TIMEOUT_MILLIS)
    }
    expectHealthy(result)
  })

  it('stock pool: the password changed with connections open', async () => {
    const filter = sessions()
    const subject = stock(filter)
    const result = await passwordChanged(subject, filter)
    record('password changed with connections open', subject, result, describePhases(result))
    await filter.killAll()
    // Failed callers although two healthy connections were open.
    expect(tally(result.phase1, DEADLINE_MILLIS).served).toBeLessThan(20)
  })

  it('no password in what a refused caller sees', async () => {
    const filter = sessions()
    const subject = ours(filter, byUser(db, admin, server.url, APP_USER, 'kp-wrong-pw').url)
    const error = await subject.pool.use(() => 1).catch((e: unknown) => e)
    await subject.destroy()
    expect(error).toBeInstanceOf(PoolConnectError)
    const text =
      JSON.stringify(error, Object.getOwnPropertyNames(error)) +
      String((error as Error).stack) +
      String((error as Error).cause)
    expect(text).not.toContain('kp-wrong-pw')
  })
})

/** A session of the app user that takes a slot until closed (its socket destroyed: no waiting on a goodbye). */
async function openSession(db: TestDatabase, url: string): Promise<{ close(): Promise<void> }> {
  const handle = await connectorFor(db, url).connect({ timeoutMillis: 5_000 })
  return { close: () => handle.close() }
}

/** An admin connection that opens again after the server restarted under it. */
function reconnectingAdmin(db: TestDatabase): Admin {
  let current: Promise<Admin> | undefined
  const get = (): Promise<Admin> => (current ??= openAdmin(db))
  return {
    async query(sql, params) {
      try {
        return await (await get()).query(sql, params)
      } catch (error) {
        const stale = current
        current = undefined
        await (await stale?.catch(() => undefined))?.close()
        // One retry on a fresh connection: the server may have restarted.
        return (await get()).query(sql, params)
      }
    },
    async close() {
      await (await current?.catch(() => undefined))?.close()
      current = undefined
    },
  }
}
