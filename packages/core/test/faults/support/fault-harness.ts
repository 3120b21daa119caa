import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import type pg from 'pg'
import type mysql from 'mysql2'
import { expect } from 'vitest'
import { createPool, type Pool, type PoolOptions } from '../../../src/index.js'
import type { ConnectorOptions } from '../../../src/connector/connector-options.js'
import type { TestDatabase } from '../../../src/testing/index.js'
import { connectorFor, run, urlWithUser, type Admin, type DriverConnection } from '../../connector/support/databases.js'

const require = createRequire(import.meta.url)
const pgDriver = require('pg') as typeof pg
const mysqlDriver = require('mysql2') as typeof mysql

/** How late past its own deadline a caller may settle before it counts as hung. */
export const SETTLE_SLACK_MILLIS = 1_500

/**
 * A pool under a fault: ours or a stock one, behind the same few calls so
 * that the same fault script runs on each.
 */
export interface Subject {
  /** `kysely-pooled`, `pg.Pool`, `mysql2 pool`. */
  readonly label: string
  /** One caller: borrow, run `sql`, give back. */
  query(sql: string): Promise<unknown>
  /** Open connections (plus, where the pool says, those being opened). */
  size(): number
  destroy(): Promise<void>
  /** How long to wait for it to settle at rest, to end, to let its sessions go (stock pools may never). */
  readonly patienceMillis: number
}

export interface OurSubject extends Subject {
  readonly pool: Pool<DriverConnection>
}

/** Our pool on `url`, errors heard (a fault produces many; the test looks at callers, not at the log). */
export function ourSubject(
  db: TestDatabase,
  url: string,
  options: PoolOptions<DriverConnection>,
  connectorOptions: ConnectorOptions = {},
): OurSubject {
  const pool = createPool(connectorFor(db, url, connectorOptions), options)
  pool.on('error', () => {})
  return {
    label: 'kysely-pooled',
    pool,
    query: (sql) => pool.use((connection) => run(db, connection, sql)),
    size: () => {
      const stats = pool.stats()
      return stats.size + stats.creating
    },
    destroy: () => pool.destroy({ graceMillis: 0 }),
    patienceMillis: 5_000,
  }
}

export interface StockOptions {
  readonly max: number
  /** pg.Pool's `connectionTimeoutMillis` (mysql2's pool has no acquire timeout: its `connectTimeout` bounds the connect). */
  readonly acquireTimeoutMillis: number
}

/**
 * The stock pool of the driver (pg.Pool / mysql2's pool), configured as a
 * careful user would (an acquire timeout; an `'error'` listener, without
 * which pg.Pool crashes the process — measured in a child process).
 */
export function stockSubject(db: TestDatabase, url: string, options: StockOptions): Subject {
  if (db.dialect === 'postgres') {
    const pool = new pgDriver.Pool({
      connectionString: url,
      max: options.max,
      connectionTimeoutMillis: options.acquireTimeoutMillis,
    })
    pool.on('error', () => {})
    return {
      label: 'pg.Pool',
      query: (sql) => pool.query(sql),
      size: () => pool.totalCount,
      destroy: () => pool.end(),
      patienceMillis: 1_000,
    }
  }
  const pool = mysqlDriver.createPool({
    uri: url,
    connectionLimit: options.max,
    connectTimeout: options.acquireTimeoutMillis,
  })
  pool.on('error' as 'connection', () => {})
  const internals = pool as unknown as { _allConnections: { length: number } }
  return {
    label: 'mysql2 pool',
    query: (sql) =>
      new Promise((resolve, reject) => {
        pool.query(sql, (error, rows) => (error ? reject(error) : resolve(rows)))
      }),
    size: () => internals._allConnections.length,
    destroy: () => new Promise<void>((resolve) => pool.end(() => resolve())),
    patienceMillis: 1_000,
  }
}

/** One caller's fate. */
export interface Outcome {
  readonly startedAt: number
  /** When it settled; `undefined` while (or if forever) pending. */
  endedAt: number | undefined
  ok: boolean
  error: string | undefined
}

/**
 * `callers` concurrent loops, each calling `subject.query(sql)` again as
 * soon as its last call settled — or, when a call has not settled by the
 * caller's deadline plus the slack, giving up on it (it is then "hung") and
 * calling again, as the next request of a real service would.
 */
export class Load {
  readonly outcomes: Outcome[] = []
  #running = false
  #loops: Promise<void>[] = []

  constructor(
    readonly subject: Subject,
    readonly callers: number,
    readonly sql: string,
    readonly deadlineMillis: number,
  ) {}

  start(): this {
    this.#running = true
    this.#loops = Array.from({ length: this.callers }, () => this.#loop())
    return this
  }

  async stop(): Promise<void> {
    this.#running = false
    await Promise.all(this.#loops)
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      await call(this.subject, this.sql, this.deadlineMillis, this.outcomes)
    }
  }
}

/** One call, recorded; resolves when it settles or when its deadline plus the slack has passed. */
export function call(
  subject: Subject,
  sql: string,
  deadlineMillis: number,
  into: Outcome[],
  slackMillis = SETTLE_SLACK_MILLIS,
): Promise<Outcome> {
  const outcome: Outcome = { startedAt: performance.now(), endedAt: undefined, ok: false, error: undefined }
  into.push(outcome)
  const settled = subject.query(sql).then(
    () => {
      outcome.endedAt = performance.now()
      outcome.ok = true
    },
    (error: unknown) => {
      outcome.endedAt = performance.now()
      outcome.error = errorName(error)
    },
  )
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, deadlineMillis + slackMillis)
  })
  return Promise.race([settled, late]).then(() => {
    clearTimeout(timer)
    return outcome
  })
}

export function errorName(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  // pg: SQLSTATE in `code`; mysql2: `code` (ER_…) or only `errno`.
  const { code, errno } = error as { code?: unknown; errno?: unknown }
  const id = code ?? errno
  return typeof id === 'string' || typeof id === 'number' ? `${error.name}(${id})` : error.name
}

export interface Tally {
  readonly served: number
  readonly failed: number
  /** Not settled within deadline + slack. */
  readonly hung: number
  /** The slowest settled caller's time. */
  readonly slowestMillis: number
}

export function tally(outcomes: readonly Outcome[], deadlineMillis: number): Tally {
  let served = 0
  let failed = 0
  let hung = 0
  let slowest = 0
  for (const outcome of outcomes) {
    const took = (outcome.endedAt ?? Number.POSITIVE_INFINITY) - outcome.startedAt
    if (took > deadlineMillis + SETTLE_SLACK_MILLIS) hung++
    else if (outcome.ok) served++
    else failed++
    if (outcome.endedAt !== undefined) slowest = Math.max(slowest, took)
  }
  return { served, failed, hung, slowestMillis: Math.round(slowest) }
}

/**
 * Time from the fault's end to the first success of a caller that started
 * after the fault began (0 if one was already served by then); `undefined`
 * if none was.
 */
export function recoveryMillis(outcomes: readonly Outcome[], faultStart: number, faultEnd: number): number | undefined {
  let first = Number.POSITIVE_INFINITY
  for (const outcome of outcomes) {
    if (outcome.ok && outcome.startedAt >= faultStart && outcome.endedAt! < first) first = outcome.endedAt!
  }
  return first === Number.POSITIVE_INFINITY ? undefined : Math.max(0, Math.round(first - faultEnd))
}

/** Samples a pool's size every few milliseconds; `max` is the largest seen. */
export class SizeSampler {
  max = 0
  samples = 0
  readonly #timer: NodeJS.Timeout

  constructor(subject: Subject) {
    this.#timer = setInterval(() => {
      this.max = Math.max(this.max, subject.size())
      this.samples++
    }, 2)
  }

  stop(): void {
    clearInterval(this.#timer)
  }
}

/** Errors the process would crash on, or that nobody handled, while a fault ran. */
export class ProcessWatch {
  readonly unhandled: unknown[] = []
  readonly #onRejection = (reason: unknown): void => {
    this.unhandled.push(reason)
  }

  constructor() {
    process.on('unhandledRejection', this.#onRejection)
  }

  stop(): void {
    process.off('unhandledRejection', this.#onRejection)
  }
}

/**
 * The server-side sessions of one pool, told apart from everyone else's: by
 * user (a user of the test's own), or on PostgreSQL by `application_name`.
 */
export interface SessionFilter {
  /** The URL to give the pool. */
  readonly url: string
  count(): Promise<number>
  /** Ends every session of the filter from the server side. */
  killAll(): Promise<void>
}

/** A filter by `application_name` (PostgreSQL). */
export function byApplicationName(admin: Admin, url: string): SessionFilter {
  const name = `kp_fault_${randomUUID().slice(0, 8)}`
  const parsed = new URL(url)
  parsed.searchParams.set('application_name', name)
  return {
    url: parsed.toString(),
    count: async () =>
      Number(
        (await admin.query('SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE application_name = ?', [name]))[0]!.n,
      ),
    killAll: async () => {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ?', [name])
    },
  }
}

/** A filter by user: the user must exist (see `createUser`). */
export function byUser(db: TestDatabase, admin: Admin, url: string, user: string, password: string): SessionFilter {
  const isPostgres = db.dialect === 'postgres'
  return {
    url: urlWithUser(url, user, password),
    count: async () =>
      Number(
        (
          await admin.query(
            isPostgres
              ? 'SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE usename = ?'
              : 'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?',
            [user],
          )
        )[0]!.n,
      ),
    killAll: async () => {
      if (isPostgres) {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ?', [user])
        return
      }
      for (const row of await admin.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [
        user,
      ])) {
        await admin.query(`KILL ${Number(row.id)}`).catch(() => {})
      }
    },
  }
}

/** Creates (or re-creates) a login user with a password, allowed into `database`. */
export async function createUser(
  db: TestDatabase,
  admin: Admin,
  user: string,
  password: string,
  database: string,
): Promise<void> {
  if (db.dialect === 'postgres') {
    await admin.query(`DROP ROLE IF EXISTS ${user}`)
    await admin.query(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`)
    return
  }
  await admin.query(`DROP USER IF EXISTS '${user}'@'%'`)
  await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`)
  await admin.query(`GRANT SELECT ON \`${database}\`.* TO '${user}'@'%'`)
}

export async function dropUser(db: TestDatabase, admin: Admin, user: string): Promise<void> {
  await admin.query(db.dialect === 'postgres' ? `DROP ROLE IF EXISTS ${user}` : `DROP USER IF EXISTS '${user}'@'%'`)
}

/** A statement that takes about `millis` on the server. */
export function sleepSql(db: TestDatabase, millis: number, marker = 'kp_fault'): string {
  const seconds = (millis / 1_000).toFixed(3)
  return db.dialect === 'postgres'
    ? `SELECT pg_sleep(${seconds}) /* ${marker} */`
    : `SELECT SLEEP(${seconds}) /* ${marker} */`
}

/** One row of the results table. */
export interface FaultRow {
  readonly fault: string
  readonly database: string
  readonly pool: string
  /** Milliseconds from the fault's end to the first caller served; `undefined`: never within the test. */
  readonly recoveryMillis: number | undefined
  readonly served: number
  readonly failed: number
  readonly hung: number
  /** Server-side sessions of the pool left after it was destroyed (or, for a crashed process, n/a). */
  readonly socketsLeft: number | string
  readonly note?: string
}

/** Collects rows and prints them as a Markdown table (the README's "Under faults" comes from it). */
export class FaultReport {
  readonly rows: FaultRow[] = []

  add(row: FaultRow): void {
    this.rows.push(row)
  }

  /** One fault's result for one pool. */
  record(
    fault: string,
    database: string,
    subject: Subject,
    result: Pick<FaultResult, 'tally' | 'recoveryMillis' | 'socketsLeft'>,
    note?: string,
  ): void {
    const { served, failed, hung } = result.tally
    this.add({
      fault,
      database,
      pool: subject.label,
      recoveryMillis: result.recoveryMillis,
      served,
      failed,
      hung,
      socketsLeft: result.socketsLeft,
      ...(note ? { note } : {}),
    })
  }

  print(title: string): void {
    if (this.rows.length === 0) return
    const lines = [
      `\n### ${title}`,
      '| fault | database | pool | recovery | served / failed / hung | sockets left | note |',
      '|---|---|---|---|---|---|---|',
      ...this.rows.map(
        (row) =>
          `| ${row.fault} | ${row.database} | ${row.pool} | ${row.recoveryMillis === undefined ? 'never' : `${row.recoveryMillis} ms`} | ` +
          `${row.served} / ${row.failed} / ${row.hung} | ${row.socketsLeft} | ${row.note ?? ''} |`,
      ),
    ]
    console.log(lines.join('\n'))
  }
}

/**
 * Calls until a caller is served or `windowMillis` passed (a hung call is
 * given up at the window's end); returns whether one was served.
 */
export async function callUntilServed(subject: Subject, windowMillis: number, into: Outcome[]): Promise<boolean> {
  const end = performance.now() + windowMillis
  for (let left = windowMillis; left > 0; left = end - performance.now()) {
    if ((await call(subject, 'SELECT 1', left, into, 0)).ok) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return false
}

/** Polls `condition` every 20 ms until it holds or `timeoutMillis` passed; returns whether it held. */
export async function waitUntil(condition: () => Promise<boolean> | boolean, timeoutMillis: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMillis
  for (;;) {
    if (await condition()) return true
    if (performance.now() >= deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export interface LoadFault {
  readonly callers: number
  readonly sql: string
  /** The deadline of one caller (acquire timeout plus what bounds its statement). */
  readonly deadlineMillis: number
  /** How long the pool may take to serve a caller again after the fault ended. */
  readonly recoveryBoundMillis: number
  /** Injects the fault; resolves when it is over, with when it began and ended. */
  inject(): Promise<{ readonly faultStart: number; readonly faultEnd: number }>
}

export interface FaultResult {
  readonly tally: Tally
  readonly recoveryMillis: number | undefined
  /** The largest size sampled while the fault ran. */
  readonly maxSize: number
  readonly unhandled: readonly unknown[]
  /** Server-side sessions and the pool's size once the load stopped and everything settled. */
  readonly atRest: { readonly sessions: number; readonly size: number }
  /** Server-side sessions left once the pool was destroyed. */
  readonly socketsLeft: number
}

/**
 * Runs `callers` callers on `subject`, injects the fault once they are
 * being served, keeps the load on until callers are served again (or the
 * recovery bound passed), then stops and measures the pool at rest and
 * after it is destroyed.
 */
export async function faultUnderLoad(
  subject: Subject,
  sessions: SessionFilter,
  fault: LoadFault,
): Promise<FaultResult> {
  const watch = new ProcessWatch()
  const sampler = new SizeSampler(subject)
  const load = new Load(subject, fault.callers, fault.sql, fault.deadlineMillis).start()
  const served = (): number => load.outcomes.filter((outcome) => outcome.ok).length
  await waitUntil(() => served() >= fault.callers, 10_000)
  const { faultStart, faultEnd } = await fault.inject()
  await waitUntil(() => recoveryMillis(load.outcomes, faultStart, faultEnd) !== undefined, fault.recoveryBoundMillis)
  // A little more load after the recovery: the pool keeps serving.
  const before = served()
  await waitUntil(() => served() >= before + fault.callers, 2_000)
  await load.stop()
  sampler.stop()
  return {
    tally: tally(load.outcomes, fault.deadlineMillis),
    recoveryMillis: recoveryMillis(load.outcomes, faultStart, faultEnd),
    maxSize: sampler.max,
    unhandled: watch.unhandled,
    ...(await settle(subject, sessions, watch)),
  }
}

/**
 * Waits for the pool at rest to hold as many server sessions as it says it
 * has, then destroys it (bounded: a stock pool may never finish) and counts
 * what the server still holds for it.
 */
export async function settle(
  subject: Subject,
  sessions: SessionFilter,
  watch?: ProcessWatch,
): Promise<{ atRest: { sessions: number; size: number }; socketsLeft: number }> {
  let atRest = { sessions: -1, size: -2 }
  await waitUntil(async () => {
    atRest = { sessions: await sessions.count(), size: subject.size() }
    return atRest.sessions === atRest.size
  }, subject.patienceMillis)
  await Promise.race([
    subject.destroy().catch(() => {}),
    new Promise((resolve) => setTimeout(resolve, subject.patienceMillis)),
  ])
  let socketsLeft = -1
  await waitUntil(async () => (socketsLeft = await sessions.count()) === 0, subject.patienceMillis)
  watch?.stop()
  return { atRest, socketsLeft }
}

/** What every fault asserts of our pool. */
export function expectHealthy(result: FaultResult, max: number, recoveryBoundMillis: number): void {
  expect(result.unhandled).toEqual([])
  expect(result.tally.hung).toBe(0)
  expect(result.recoveryMillis).toBeDefined()
  expect(result.recoveryMillis!).toBeLessThanOrEqual(recoveryBoundMillis)
  expect(result.maxSize).toBeLessThanOrEqual(max)
  expect(result.atRest.sessions).toBe(result.atRest.size)
  expect(result.socketsLeft).toBe(0)
}
