import { execFileSync } from 'node:child_process'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { StalledStatementError } from '../../src/connector/stalled-statement-error.js'
import { startFaultProxy, testDatabases, type FaultProxy } from '../../src/testing/index.js'
import {
  clientOf,
  connectorFor,
  isRunning,
  killFromOutside,
  openAdmin,
  run,
  serverId,
  sessionExists,
  type Admin,
  type Handle,
} from './support/databases.js'

const CONNECT = { timeoutMillis: 10_000 }

/** The socket under a handle's driver connection (pg: client.connection.stream; mysql2: connection.stream). */
function socketOf(handle: Handle): Socket {
  const client = clientOf(handle) as unknown as { connection?: { stream: Duplex }; stream?: Duplex }
  return (client.connection?.stream ?? client.stream) as Socket
}

/** Lines of `ss` for TCP sockets of this process to `port` in `state`. */
function socketsOfThisProcess(state: string, port: number): string[] {
  const output = execFileSync('ss', ['-tanpH', 'state', state, 'dport', '=', `:${port}`], { encoding: 'utf8' })
  return output.split('\n').filter((line) => line.includes(`pid=${process.pid},`))
}

describe.each(testDatabases())('connector faults on $dialect ($displayUrl)', (db) => {
  const isPostgres = db.dialect === 'postgres'
  const serverPort = Number(new URL(db.url).port || (isPostgres ? 5432 : 3306))
  const sleepSql = (seconds: number, marker: string): string =>
    isPostgres
      ? `SELECT pg_sleep(${seconds}) AS slept /* ${marker} */`
      : `SELECT SLEEP(${seconds}) AS slept /* ${marker} */`
  let proxy: FaultProxy
  let admin: Admin
  const open: Handle[] = []

  async function connect(url: string = db.url, options = {}): Promise<Handle> {
    const handle = await connectorFor(db, url, options).connect(CONNECT)
    open.push(handle)
    return handle
  }

  beforeAll(async () => {
    proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: serverPort } })
    admin = await openAdmin(db)
  })
  afterEach(async () => {
    await proxy.setMode('pass')
  })
  afterAll(async () => {
    await Promise.all(open.map((handle) => handle.close()))
    await proxy.close()
    await admin.close()
  })

  it('a reset during a query: the query rejects, the handle is broken at once, onBroken fires', async () => {
    const handle = await connect(proxy.url(db.url))
    const broken: Error[] = []
    handle.onBroken((error) => broken.push(error))
    const marker = 'kp_fault_reset_mid_query'
    // The driver's own callback: what the handle says at the very moment the statement hears of the error.
    const query = new Promise<{ error: unknown; brokenInCallback: boolean }>((resolve) => {
      const callback = (error: unknown): void => resolve({ error, brokenInCallback: handle.isBroken() })
      const client = clientOf(handle) as unknown as { query(sql: string, callback: (error: unknown) => void): unknown }
      client.query(sleepSql(20, marker), callback)
    })
    const id = serverId(db, handle)
    await expect.poll(() => isRunning(db, admin, id, marker), { timeout: 10_000 }).toBe(true)
    proxy.resetAll()
    const { error, brokenInCallback } = await query
    expect(error).toBeInstanceOf(Error)
    expect(brokenInCallback).toBe(true)
    expect(handle.isBroken()).toBe(true)
    await expect.poll(() => broken.length).toBe(1)
    // The server notices a vanished client only when the statement ends: do not leave it sleeping on a shared server.
    await killFromOutside(db, admin, id)
    expect(socketOf(handle).destroyed).toBe(true)
  })

  it('a reset that arrives on the next write: the idle connection breaks on its next statement', async () => {
    const handle = await connect(proxy.url(db.url))
    const broken: Error[] = []
    handle.onBroken((error) => broken.push(error))
    proxy.resetOnNextWrite()
    await expect(run(db, handle, 'SELECT 1 AS one')).rejects.toThrow()
    expect(handle.isBroken()).toBe(true)
    expect(broken).toHaveLength(1)
    expect(handle.transactionState()).not.toBe('in-transaction')
    await handle.close()
    expect(socketOf(handle).destroyed).toBe(true)
  })

  it('close() leaves no socket behind: healthy, busy and broken connections alike', async () => {
    const healthy = await Promise.all([connect(), connect(), connect()])
    const busy = await connect()
    const busyQuery = run(db, busy, sleepSql(20, 'kp_fault_close_busy')).catch((error: unknown) => error)
    await expect
      .poll(() => isRunning(db, admin, serverId(db, busy), 'kp_fault_close_busy'), { timeout: 10_000 })
      .toBe(true)
    const dead = await connect()
    await admin.query(
      isPostgres ? 'SELECT pg_terminate_backend(?)' : `KILL ${serverId(db, dead)}`,
      isPostgres ? [serverId(db, dead)] : [],
    )
    await expect.poll(() => dead.isBroken(), { timeout: 10_000 }).toBe(true)
    const all = [...healthy, busy, dead]
    // The busy one's backend runs its statement to the end: the server notices the closed socket only then.
    const ids = [...healthy, dead].map((handle) => serverId(db, handle))
    await Promise.all(all.map((handle) => handle.close()))
    expect(await busyQuery).toBeInstanceOf(Error)
    for (const handle of all) {
      expect(socketOf(handle).destroyed).toBe(true)
      expect(handle.isBroken()).toBe(true)
    }
    expect(socketsOfThisProcess('fin-wait-2', serverPort)).toEqual([])
    expect(socketsOfThisProcess('fin-wait-1', serverPort)).toEqual([])
    for (const id of ids) await expect.poll(() => sessionExists(db, admin, id), { timeout: 10_000 }).toBe(false)
    await killFromOutside(db, admin, serverId(db, busy))
  })

  it('close() of a healthy connection whose server never answers the goodbye destroys the socket after closeTimeoutMillis', async () => {
    const handle = await connect(proxy.url(db.url), { closeTimeoutMillis: 200 })
    expect(handle.isBroken()).toBe(false)
    await proxy.setMode('blackhole')
    await handle.close()
    expect(socketOf(handle).destroyed).toBe(true)
    expect(handle.isBroken()).toBe(true)
    await handle.close() // a second close is the same close
  })

  it('TCP keepalive is on by default, off when configured so', async () => {
    const keepAliveOf = (handle: Handle): string =>
      execFileSync('ss', ['-tnoH', 'state', 'established', 'sport', '=', `:${socketOf(handle).localPort}`], {
        encoding: 'utf8',
      })
    expect(keepAliveOf(await connect())).toContain('keepalive')
    const without = await connectorFor(db, db.url).connect(CONNECT)
    open.push(without)
    const off = isPostgres ? { connectionString: db.url, keepAlive: false } : { uri: db.url, enableKeepAlive: false }
    const configured = await (
      isPostgres
        ? (await import('../../src/connector/postgres-connector.js')).postgresConnector(off)
        : (await import('../../src/connector/mysql-connector.js')).mysqlConnector(off)
    ).connect(CONNECT)
    open.push(configured as Handle)
    expect(keepAliveOf(configured as Handle)).not.toContain('keepalive')
  })

  it('interrupt sends nothing when isCurrent() is false right before sending, and cancels when true', async () => {
    const handle = await connect()
    const marker = 'kp_fault_fenced'
    let asked = 0
    // True at the start, false at the moment of sending: the work ended in between.
    const endedMeanwhile = (): boolean => asked++ === 0
    const sleeping = run(db, handle, sleepSql(1, marker))
    await expect.poll(() => isRunning(db, admin, serverId(db, handle), marker), { timeout: 10_000 }).toBe(true)
    await handle.interrupt('query', endedMeanwhile)
    expect(asked).toBeGreaterThanOrEqual(2)
    // Ran to its end: pg_sleep returns an empty value, an interrupted SLEEP() returns 1.
    const [row] = await sleeping
    expect(isPostgres ? row : Object.values(row!)).toEqual(isPostgres ? { slept: '' } : [0])

    // A fence that throws at the moment of sending counts as "no", and nothing escapes as an uncaught error.
    let asked2 = 0
    const throwsLater = (): boolean => {
      if (asked2++ === 0) return true
      throw new Error('kp fence failure')
    }
    const sleepingAgain = run(db, handle, sleepSql(0.5, `${marker}_throw`))
    await expect
      .poll(() => isRunning(db, admin, serverId(db, handle), `${marker}_throw`), { timeout: 10_000 })
      .toBe(true)
    await handle.interrupt('query', throwsLater)
    expect(asked2).toBe(2)
    const [again] = await sleepingAgain
    expect(isPostgres ? again : Object.values(again!)).toEqual(isPostgres ? { slept: '' } : [0])

    await handle.interrupt('session', () => false)
    expect(await sessionExists(db, admin, serverId(db, handle))).toBe(true)
    expect(handle.isBroken()).toBe(false)

    const cancelled = run(db, handle, sleepSql(60, `${marker}_2`)).then(
      (rows) => ({ rows }),
      (error: { code?: string; errno?: number }) => ({ error }),
    )
    await expect.poll(() => isRunning(db, admin, serverId(db, handle), `${marker}_2`), { timeout: 10_000 }).toBe(true)
    await handle.interrupt('query', () => true)
    const outcome = await cancelled
    if ('error' in outcome)
      expect(isPostgres ? outcome.error.code : outcome.error.errno).toBe(isPostgres ? '57014' : 1317)
    else expect(Object.values(outcome.rows[0]!)).toEqual([1])
  })

  it('statementTimeoutMillis bounds a long statement, is the baseline, and survives a session reset', async () => {
    const handle = await connect(db.url, { statementTimeoutMillis: 400 })
    expect(handle.isSessionChanged()).toBe(false)
    const setting = isPostgres
      ? "SELECT current_setting('statement_timeout') AS t"
      : 'SELECT @@SESSION.max_statement_time AS t'
    const expected = isPostgres ? [{ t: '400ms' }] : [{ t: 0.4 }]
    expect(await run(db, handle, setting)).toEqual(expected)

    const bounded = async (): Promise<void> => {
      const outcome = await run(db, handle, sleepSql(60, 'kp_fault_bounded')).then(
        (rows) => ({ rows }),
        (error: { code?: string; errno?: number }) => ({ error }),
      )
      // PostgreSQL: query_canceled; MariaDB: max_statement_time exceeded (1969), or SLEEP() cut short returning 1.
      if ('error' in outcome)
        expect(isPostgres ? outcome.error.code : outcome.error.errno).toBe(isPostgres ? '57014' : 1969)
      else expect(Object.values(outcome.rows[0]!)).toEqual([1])
    }
    await bounded()
    await handle.whenIdle()
    expect(handle.isBroken()).toBe(false)
    expect(handle.isSessionChanged()).toBe(false)

    await run(db, handle, isPostgres ? "SET application_name = 'kp_dirty'" : 'SET @kp_dirty = 1')
    expect(handle.isSessionChanged()).toBe(true)
    await handle.resetSession()
    expect(handle.isSessionChanged()).toBe(false)
    expect(await run(db, handle, setting)).toEqual(expected)
    await bounded()
  })

  it('the client guard fails a statement on a blackholed path and closes the connection', async () => {
    const handle = await connect(proxy.url(db.url), { statementTimeoutMillis: 200 })
    const broken: Error[] = []
    handle.onBroken((error) => broken.push(error))
    expect(await run(db, handle, 'SELECT 1 AS one')).toEqual([{ one: 1 }])
    await proxy.setMode('blackhole')
    const error = await run(db, handle, 'SELECT 2 AS two').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StalledStatementError)
    expect(handle.isBroken()).toBe(true)
    expect(broken).toEqual([error])
    expect(socketOf(handle).destroyed).toBe(true)
  })

  it('the client guard does not fire on a healthy slow path within the bound', async () => {
    const handle = await connect(proxy.url(db.url), { statementTimeoutMillis: 200 })
    await proxy.setMode({ latencyMillis: 100 })
    for (let i = 0; i < 3; i++) expect(await run(db, handle, 'SELECT 3 AS three')).toEqual([{ three: 3 }])
    expect(handle.isBroken()).toBe(false)
  })
})
