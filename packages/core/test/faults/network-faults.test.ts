import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { StalledStatementError } from '../../src/connector/stalled-statement-error.js'
import { startFaultProxy, testDatabases, type FaultProxy } from '../../src/testing/index.js'
import { openAdmin, run, type Admin } from '../connector/support/databases.js'
import {
  byApplicationName,
  byUser,
  call,
  callUntilServed,
  createUser,
  dropUser,
  FaultReport,
  faultUnderLoad,
  ourSubject,
  ProcessWatch,
  recoveryMillis,
  settle,
  SETTLE_SLACK_MILLIS,
  SizeSampler,
  sleepSql,
  stockSubject,
  tally,
  type FaultResult,
  type Outcome,
  type SessionFilter,
  type Subject,
  expectHealthy as expectHealthyFault,
} from './support/fault-harness.js'

/*
 * The pool under network faults, through the loopback fault proxy in front
 * of the machine's own servers: every connection reset mid-load, a
 * blackholed path under idle connections, a statement stuck on a dead path.
 * Our pool is held to the bounds; the stock pools go through the same
 * script and their figures are printed next to ours (README "Under faults").
 */

const MAX = 5
const ACQUIRE_TIMEOUT_MILLIS = 2_000
const RECOVERY_BOUND_MILLIS = 5_000
const PASSWORD = 'kp-fault-pw'

describe.each(testDatabases())('the pool under network faults on $dialect', (db) => {
  const isPostgres = db.dialect === 'postgres'
  const serverPort = Number(new URL(db.url).port || (isPostgres ? 5432 : 3306))
  // MySQL sessions are told apart by a user of this file's own; PostgreSQL ones by application_name.
  const user = `kp_fault_net_${randomUUID().slice(0, 6)}`
  const report = new FaultReport()
  let proxy: FaultProxy
  let admin: Admin

  beforeAll(async () => {
    proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: serverPort } })
    admin = await openAdmin(db)
    if (!isPostgres) await createUser(db, admin, user, PASSWORD, new URL(db.url).pathname.slice(1))
  })
  afterEach(async () => {
    await proxy.setMode('pass')
  })
  afterAll(async () => {
    report.print(`network faults on ${db.dialect}`)
    await proxy?.close()
    if (!isPostgres) await dropUser(db, admin, user)
    await admin?.close()
  })

  function sessions(): SessionFilter {
    const url = proxy.url(db.url)
    return isPostgres ? byApplicationName(admin, url) : byUser(db, admin, url, user, PASSWORD)
  }

  function ours(filter: SessionFilter, options = {}, connectorOptions = {}): ReturnType<typeof ourSubject> {
    return ourSubject(
      db,
      filter.url,
      { max: MAX, acquireTimeoutMillis: ACQUIRE_TIMEOUT_MILLIS, createTimeoutMillis: 1_000, ...options },
      connectorOptions,
    )
  }

  function stock(filter: SessionFilter): Subject {
    return stockSubject(db, filter.url, { max: MAX, acquireTimeoutMillis: ACQUIRE_TIMEOUT_MILLIS })
  }

  const record = (
    fault: string,
    subject: Subject,
    result: Pick<FaultResult, 'tally' | 'recoveryMillis' | 'socketsLeft'>,
    note?: string,
  ): void => report.record(fault, db.dialect, subject, result, note)

  const expectHealthy = (result: FaultResult): void => expectHealthyFault(result, MAX, RECOVERY_BOUND_MILLIS)

  // ------------------------------------------------------- reset mid-load

  const resetMidLoad = (subject: Subject, filter: SessionFilter): Promise<FaultResult> =>
    faultUnderLoad(subject, filter, {
      callers: 50,
      sql: sleepSql(db, 10),
      deadlineMillis: ACQUIRE_TIMEOUT_MILLIS + 1_000,
      recoveryBoundMillis: RECOVERY_BOUND_MILLIS,
      inject: async () => {
        const faultStart = performance.now()
        proxy.resetAll()
        return { faultStart, faultEnd: performance.now() }
      },
    })

  it('every connection reset mid-load (50 callers, max 5): callers settle, the pool recovers, no socket is left', async () => {
    const filter = sessions()
    const subject = ours(filter)
    const result = await resetMidLoad(subject, filter)
    record('every connection reset mid-load', subject, result)
    expectHealthy(result)
    expect(result.tally.served).toBeGreaterThanOrEqual(50)
    expect(proxy.connections).toBe(0)
  })

  it('stock pool: every connection reset mid-load', async () => {
    const filter = sessions()
    const subject = stock(filter)
    const result = await resetMidLoad(subject, filter)
    record('every connection reset mid-load', subject, result)
    await filter.killAll()
    expect(result.tally.served).toBeGreaterThan(0)
  })

  // ----------------------------------------- blackhole under idle connections

  const CALLERS_IN_THE_HOLE = 10
  const HOLE_ACQUIRE_TIMEOUT_MILLIS = 1_000

  /** Fills the pool, lets it idle past `validateAfterIdleMillis`, blackholes the path, sends new callers, then heals the path. */
  async function blackholeIdle(
    subject: Subject,
    filter: SessionFilter,
  ): Promise<FaultResult & { outcomes: Outcome[] }> {
    const watch = new ProcessWatch()
    const sampler = new SizeSampler(subject)
    const outcomes: Outcome[] = []
    const warm: Outcome[] = []
    await Promise.all(Array.from({ length: MAX }, () => call(subject, sleepSql(db, 50), ACQUIRE_TIMEOUT_MILLIS, warm)))
    expect(warm.every((outcome) => outcome.ok)).toBe(true)
    expect(subject.size()).toBe(MAX)
    // Idle long enough to need validation (validateAfterIdleMillis is 50).
    await new Promise((resolve) => setTimeout(resolve, 100))
    const faultStart = performance.now()
    await proxy.setMode('blackhole')
    const deadline = HOLE_ACQUIRE_TIMEOUT_MILLIS + 1_000
    await Promise.all(Array.from({ length: CALLERS_IN_THE_HOLE }, () => call(subject, 'SELECT 1', deadline, outcomes)))
    await proxy.setMode('pass')
    const faultEnd = performance.now()
    await callUntilServed(subject, subject.patienceMillis, outcomes)
    // Callers left hanging by a stock pool: the healed path does not wake them (their bytes were dropped).
    sampler.stop()
    const result = {
      tally: tally(outcomes, deadline),
      recoveryMillis: recoveryMillis(outcomes, faultStart, faultEnd),
      maxSize: sampler.max,
      unhandled: watch.unhandled,
      outcomes,
    }
    return { ...result, ...(await settle(subject, filter, watch)) }
  }

  it('a blackholed path under idle connections: new callers fail within their deadline (validation), then the pool recovers', async () => {
    const filter = sessions()
    const subject = ours(filter, { validateAfterIdleMillis: 50, acquireTimeoutMillis: HOLE_ACQUIRE_TIMEOUT_MILLIS })
    const result = await blackholeIdle(subject, filter)
    record('blackhole under idle connections, then new callers', subject, result)
    expectHealthy(result)
    const inTheHole = result.outcomes.slice(0, CALLERS_IN_THE_HOLE)
    for (const outcome of inTheHole) {
      expect(outcome.ok).toBe(false)
      expect(outcome.error).toMatch(/^PoolTimeoutError/)
      expect(outcome.endedAt! - outcome.startedAt).toBeLessThanOrEqual(
        HOLE_ACQUIRE_TIMEOUT_MILLIS + SETTLE_SLACK_MILLIS,
      )
    }
  })

  it('stock pool: a blackholed path under idle connections', async () => {
    const filter = sessions()
    const subject = stockSubject(db, filter.url, { max: MAX, acquireTimeoutMillis: HOLE_ACQUIRE_TIMEOUT_MILLIS })
    const result = await blackholeIdle(subject, filter)
    record(
      'blackhole under idle connections, then new callers',
      subject,
      result,
      'no validation; no query timeout by default',
    )
    // Whatever a stock pool left behind dies with its sockets.
    proxy.resetAll()
    await filter.killAll()
    // What the README says of it: callers hang on the dead idle connections, and the healed path does not bring them back.
    expect(result.tally.hung).toBeGreaterThan(0)
    expect(result.recoveryMillis).toBeUndefined()
  })

  // ------------------------------------------------------ a stuck statement

  /**
   * One caller's statement runs, then the path goes dead under it; `bound`
   * ends it (a statement timeout, a lease limit, destroying the pool).
   * Returns how long after the path died the caller settled.
   */
  async function stuckStatement(
    subject: Subject,
    filter: SessionFilter,
    bound: () => Promise<void>,
    deadline: number,
    destroys = false,
    statementMillis = 2_000,
  ): Promise<{ outcome: Outcome; afterFaultMillis: number; result: FaultResult }> {
    const watch = new ProcessWatch()
    const sampler = new SizeSampler(subject)
    const outcomes: Outcome[] = []
    const marker = `kp_fault_stuck_${randomUUID().slice(0, 6)}`
    // Our pool: a statement short enough that the server ends it soon after its client is gone (its cancel
    // went down the dead path too); a stock pool: long, so that the healed path cannot answer it.
    const stuck = call(subject, sleepSql(db, statementMillis, marker), deadline, outcomes)
    await expect.poll(() => runningCount(marker), { timeout: 10_000 }).toBe(1)
    const faultStart = performance.now()
    await proxy.setMode('blackhole')
    await bound()
    const outcome = await stuck
    const afterFaultMillis = Math.round((outcome.endedAt ?? Number.POSITIVE_INFINITY) - faultStart)
    await proxy.setMode('pass')
    const faultEnd = performance.now()
    if (!destroys) await callUntilServed(subject, subject.patienceMillis, outcomes)
    sampler.stop()
    const result = {
      tally: tally(outcomes, deadline),
      // A destroyed pool serves nobody again: nothing to recover.
      recoveryMillis: destroys ? 0 : recoveryMillis(outcomes, faultStart, faultEnd),
      maxSize: sampler.max,
      unhandled: watch.unhandled,
    }
    return { outcome, afterFaultMillis, result: { ...result, ...(await settle(subject, filter, watch)) } }
  }

  async function runningCount(marker: string): Promise<number> {
    const rows = isPostgres
      ? await admin.query(
          `SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE ? AND pid <> pg_backend_pid()`,
          [`%${marker}%`],
        )
      : await admin.query(
          `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()`,
          [`%${marker}%`],
        )
    return Number(rows[0]!.n)
  }

  it('a statement stuck on a dead path is bounded by statementTimeoutMillis (the client guard)', async () => {
    const filter = sessions()
    const statementTimeoutMillis = 500
    // The guard's margin: 10 %, at least 1 s.
    const bound = statementTimeoutMillis + 1_000
    const subject = ours(filter, {}, { statementTimeoutMillis })
    const { outcome, afterFaultMillis, result } = await stuckStatement(
      subject,
      filter,
      async () => {},
      ACQUIRE_TIMEOUT_MILLIS + bound,
    )
    record(
      'statement stuck on a dead path: statementTimeoutMillis 500',
      subject,
      result,
      `caller released ${afterFaultMillis} ms after the path died`,
    )
    expect(outcome.error).toMatch(new RegExp(`^${StalledStatementError.name}`))
    expect(afterFaultMillis).toBeLessThanOrEqual(bound + SETTLE_SLACK_MILLIS)
    expectHealthy(result)
  })

  it('a long statement on a healthy path is bounded by statementTimeoutMillis on the server; the connection stays', async () => {
    const filter = sessions()
    const subject = ours(filter, {}, { statementTimeoutMillis: 300 })
    const watch = new ProcessWatch()
    const outcomes: Outcome[] = []
    const outcome = await call(subject, sleepSql(db, 20_000), 300, outcomes)
    watch.stop()
    // PostgreSQL: query_canceled; MariaDB: max_statement_time exceeded — or SLEEP() cut short, which returns 1.
    if (!outcome.ok) expect(outcome.error).toMatch(isPostgres ? /\(57014\)/ : /\(1969\)/)
    expect(outcome.endedAt! - outcome.startedAt).toBeLessThanOrEqual(300 + SETTLE_SLACK_MILLIS)
    // The release finishes cleaning in the background (the server's ready-for-query may trail the error).
    await expect.poll(() => subject.pool.stats().idle).toBe(1)
    expect(subject.pool.stats()).toMatchObject({ destroyed: 0, created: 1, size: 1 })
    expect(await subject.pool.use((connection) => run(db, connection, 'SELECT 1 AS one'))).toEqual([{ one: 1 }])
    const rest = await settle(subject, filter)
    expect(rest.atRest.sessions).toBe(1)
    expect(rest.socketsLeft).toBe(0)
    expect(watch.unhandled).toEqual([])
  })

  it('a statement stuck on a dead path is bounded by maxLeaseMillis', async () => {
    const filter = sessions()
    const maxLeaseMillis = 500
    const cleanupTimeoutMillis = 500
    // The cancel goes down the dead path too: its side channel gives up after interruptTimeoutMillis.
    const subject = ours(filter, { maxLeaseMillis, cleanupTimeoutMillis }, { interruptTimeoutMillis: 1_000 })
    const bound = maxLeaseMillis + cleanupTimeoutMillis
    const { outcome, afterFaultMillis, result } = await stuckStatement(
      subject,
      filter,
      async () => {},
      ACQUIRE_TIMEOUT_MILLIS + bound,
    )
    record(
      'statement stuck on a dead path: maxLeaseMillis 500',
      subject,
      result,
      `caller released ${Math.round(outcome.endedAt! - outcome.startedAt)} ms after it started`,
    )
    expect(outcome.ok).toBe(false)
    expect(outcome.endedAt! - outcome.startedAt).toBeLessThanOrEqual(bound + SETTLE_SLACK_MILLIS)
    expect(afterFaultMillis).toBeLessThanOrEqual(bound + SETTLE_SLACK_MILLIS)
    expect(subject.pool.stats().revoked).toBe(1)
    expectHealthy(result)
    await expect.poll(() => proxy.connections, { timeout: 1_000 + SETTLE_SLACK_MILLIS }).toBe(0)
  })

  it('a statement stuck on a dead path is bounded by pool.destroy()', async () => {
    const filter = sessions()
    const graceMillis = 200
    const cleanupTimeoutMillis = 500
    const subject = ours(filter, { cleanupTimeoutMillis }, { interruptTimeoutMillis: 1_000 })
    let destroyMillis = Number.POSITIVE_INFINITY
    const { outcome, afterFaultMillis, result } = await stuckStatement(
      subject,
      filter,
      async () => {
        const startedAt = performance.now()
        await subject.pool.destroy({ graceMillis })
        destroyMillis = performance.now() - startedAt
      },
      ACQUIRE_TIMEOUT_MILLIS,
      true,
    )
    record(
      'statement stuck on a dead path: pool.destroy({ graceMillis: 200 })',
      subject,
      result,
      `destroy took ${Math.round(destroyMillis)} ms; caller released ${afterFaultMillis} ms after the path died`,
    )
    expect(outcome.ok).toBe(false)
    expect(destroyMillis).toBeLessThanOrEqual(graceMillis + cleanupTimeoutMillis + SETTLE_SLACK_MILLIS)
    expect(afterFaultMillis).toBeLessThanOrEqual(graceMillis + cleanupTimeoutMillis + SETTLE_SLACK_MILLIS)
    expect(result.unhandled).toEqual([])
    expect(result.maxSize).toBeLessThanOrEqual(MAX)
    expect(result.socketsLeft).toBe(0)
    // The cancel's side channel (its connect went into the hole) closes within interruptTimeoutMillis.
    await expect.poll(() => proxy.connections, { timeout: 1_000 + SETTLE_SLACK_MILLIS }).toBe(0)
  })

  it('stock pool: a statement stuck on a dead path, then the pool ended', async () => {
    const filter = sessions()
    const subject = stock(filter)
    let ended = false
    const { afterFaultMillis, result } = await stuckStatement(
      subject,
      filter,
      async () => {
        // end() waits for the stuck client (pg.Pool) or half-closes (mysql2): give it 2 s.
        const end = subject.destroy().then(() => (ended = true))
        await Promise.race([end, new Promise((resolve) => setTimeout(resolve, 2_000))])
      },
      ACQUIRE_TIMEOUT_MILLIS,
      true,
      25_000,
    )
    const endedInTime = ended
    record(
      'statement stuck on a dead path: pool ended',
      subject,
      result,
      `end() ${endedInTime ? 'finished' : 'still pending after 2 s'}; caller ${Number.isFinite(afterFaultMillis) ? `released after ${afterFaultMillis} ms` : 'never released'}`,
    )
    proxy.resetAll()
    await filter.killAll()
    // What the README says of it: the caller is still stuck and end() has not finished.
    expect(result.tally.hung).toBe(1)
    expect(endedInTime).toBe(false)
  })
})
