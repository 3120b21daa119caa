import { createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectTimeoutError } from '../../src/connector/connect-timeout-error.js'
import { testDatabases, type TestDatabase } from '../../src/testing/index.js'
import { startFakePostgresAuthServer } from './support/fake-postgres-auth.js'
import {
  connectorFor,
  countRoundTrips,
  eventually,
  isRunning,
  killFromOutside,
  openAdmin,
  run,
  serverId,
  sessionExists,
  urlWithDatabase,
  urlWithUser,
  type Admin,
  type Handle,
} from './support/databases.js'

const CONNECT = { timeoutMillis: 10_000 }
const PASSWORD_USER = 'kp_core_pw_user'
const PASSWORD = 'kp-secret-pw'

describe.each(testDatabases())('connector on $dialect ($displayUrl)', (db) => {
  const connector = connectorFor(db)
  const isPostgres = db.dialect === 'postgres'
  const sleepSql = (seconds: number, marker: string) =>
    isPostgres ? `SELECT pg_sleep(${seconds}) /* ${marker} */` : `SELECT SLEEP(${seconds}) /* ${marker} */`
  let admin: Admin
  const open: Handle[] = []

  async function connect(): Promise<Handle> {
    const connection = await connector.connect(CONNECT)
    open.push(connection)
    return connection
  }

  beforeAll(async () => {
    admin = await openAdmin(db)
    await ensurePasswordUser(db, admin)
  })

  afterAll(async () => {
    await Promise.all(open.map((connection) => connection.close()))
    await admin.close()
  })

  it('reports a password-free target', () => {
    const withPassword = connectorFor(db, urlWithUser(db.url, 'someone', 'hunter2-secret'))
    expect(withPassword.target).not.toContain('hunter2-secret')
    expect(withPassword.target).toContain('someone@')
    expect(withPassword.dialect).toBe(db.dialect)
  })

  it('tracks the transaction state through BEGIN, COMMIT and ROLLBACK', async () => {
    const connection = await connect()
    expect(connection.transactionState()).toBe('idle')
    await run(db, connection, 'BEGIN')
    expect(connection.transactionState()).toBe('in-transaction')
    await run(db, connection, 'SELECT 1')
    expect(connection.transactionState()).toBe('in-transaction')
    await run(db, connection, 'COMMIT')
    expect(connection.transactionState()).toBe('idle')
    await run(db, connection, 'START TRANSACTION')
    expect(connection.transactionState()).toBe('in-transaction')
    await run(db, connection, 'ROLLBACK')
    expect(connection.transactionState()).toBe('idle')
  })

  it('marks a transaction with an error as dirty until rolled back', async () => {
    const connection = await connect()
    await run(db, connection, 'BEGIN')
    await expect(run(db, connection, 'SELECT no_such_column FROM no_such_table')).rejects.toThrow()
    await connection.whenIdle()
    expect(connection.transactionState()).toBe(isPostgres ? 'failed' : 'unknown')
    await connection.rollback()
    expect(connection.transactionState()).toBe('idle')
  })

  it('stays idle after an error outside a transaction', async () => {
    const connection = await connect()
    await expect(run(db, connection, 'SELECT no_such_column FROM no_such_table')).rejects.toThrow()
    await connection.whenIdle()
    expect(connection.transactionState()).toBe('idle')
    expect(connection.isBusy()).toBe(false)
  })

  it('is busy while a query is in flight and whenIdle waits for it', async () => {
    const connection = await connect()
    expect(connection.isBusy()).toBe(false)
    let finished = false
    const query = run(db, connection, sleepSql(0.2, 'kp_core_busy')).then(() => {
      finished = true
    })
    expect(connection.isBusy()).toBe(true)
    await connection.whenIdle()
    expect(connection.isBusy()).toBe(false)
    await query
    expect(finished).toBe(true)
    await connection.whenIdle() // already idle: resolves at once
  })

  it('answers the state questions without sending anything', async () => {
    const connection = await connect()
    await run(db, connection, 'BEGIN')
    const trips = countRoundTrips(db, connection)
    for (let i = 0; i < 1_000; i++) {
      connection.transactionState()
      connection.isBusy()
      connection.isSessionChanged()
      connection.isBroken()
    }
    expect(trips.count()).toBe(0)
    await run(db, connection, 'ROLLBACK')
    expect(trips.statements).toEqual(isPostgres ? ['ROLLBACK'] : ['ROLLBACK'])
  })

  it('pings and resets a clean connection', async () => {
    const connection = await connect()
    await connection.ping()
    await connection.resetSession()
    expect(connection.isSessionChanged()).toBe(false)
    expect(await run(db, connection, 'SELECT 1 AS one')).toEqual([{ one: 1 }])
  })

  it("interrupt('query') cancels a running statement and keeps the connection usable", async () => {
    const connection = await connect()
    const id = serverId(db, connection)
    const sleeping = run(db, connection, sleepSql(60, 'kp_core_cancel_me')).then(
      (rows) => ({ rows }),
      (error: unknown) => ({ error }),
    )
    expect(await eventually(() => isRunning(db, admin, id, 'kp_core_cancel_me'))).toBe(true)
    await connection.interrupt('query', () => true)
    const outcome = await sleeping
    if (isPostgres) {
      expect((outcome as { error: { code: string } }).error.code).toBe('57014')
    } else if ('error' in outcome) {
      expect((outcome.error as { errno: number }).errno).toBe(1317)
    } else {
      // MySQL's SLEEP() returns 1 when interrupted instead of failing.
      expect(Object.values(outcome.rows[0]!)).toEqual([1])
    }
    await connection.whenIdle()
    expect(connection.isBroken()).toBe(false)
    expect(await run(db, connection, 'SELECT 2 AS two')).toEqual([{ two: 2 }])
  })

  it("interrupt('query') on an idle connection sends nothing and changes nothing", async () => {
    const connection = await connect()
    const trips = countRoundTrips(db, connection)
    await connection.interrupt('query', () => true)
    expect(trips.count()).toBe(0)
    expect(await run(db, connection, 'SELECT 3 AS three')).toEqual([{ three: 3 }])
  })

  it("interrupt('session') ends the session and the connection reports broken", async () => {
    const connection = await connect()
    const id = serverId(db, connection)
    const broken: Error[] = []
    connection.onBroken((error) => broken.push(error))
    const sleeping = run(db, connection, sleepSql(60, 'kp_core_kill_me')).catch((error: unknown) => error)
    expect(await eventually(() => isRunning(db, admin, id, 'kp_core_kill_me'))).toBe(true)
    await connection.interrupt('session', () => true)
    expect(await sleeping).toBeInstanceOf(Error)
    expect(await eventually(() => connection.isBroken())).toBe(true)
    expect(await eventually(() => broken.length === 1)).toBe(true)
    expect(await eventually(async () => !(await sessionExists(db, admin, id)))).toBe(true)
    await connection.whenIdle()
  })

  it('reports an idle connection killed from outside as broken, without an unhandled error', async () => {
    const connection = await connect()
    const broken: Error[] = []
    connection.onBroken((error) => broken.push(error))
    expect(connection.isBroken()).toBe(false)
    await killFromOutside(db, admin, serverId(db, connection))
    expect(await eventually(() => broken.length > 0)).toBe(true)
    expect(connection.isBroken()).toBe(true)
    expect(broken).toHaveLength(1)
    // A listener registered after the fact still hears about it.
    const late = await new Promise<Error>((resolve) => connection.onBroken(resolve))
    expect(late).toBeInstanceOf(Error)
    await connection.close() // closing a dead connection settles too
  })

  it('close() ends the server session', async () => {
    const connection = await connector.connect(CONNECT)
    const id = serverId(db, connection)
    await connection.close()
    expect(await eventually(async () => !(await sessionExists(db, admin, id)))).toBe(true)
  })

  it('classifies a refused port as transient', async () => {
    const refused = connectorFor(
      db,
      urlWithUser(`${isPostgres ? 'postgres' : 'mysql'}://127.0.0.1:1/test`, 'u', PASSWORD),
    )
    const error = await refused.connect(CONNECT).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(refused.classifyConnectFailure(error)).toBe('transient')
    expectNoPassword(error)
  })

  it('classifies an unknown database as fatal', async () => {
    const unknown = connectorFor(db, urlWithDatabase(db.url, 'kp_core_no_such_database'))
    const error = await unknown.connect(CONNECT).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as { code?: unknown; errno?: unknown })[isPostgres ? 'code' : 'errno']).toBe(
      isPostgres ? '3D000' : 1049,
    )
    expect(unknown.classifyConnectFailure(error)).toBe('fatal')
  })

  it('classifies an unknown host as fatal', async () => {
    const nowhere = connectorFor(db, `${isPostgres ? 'postgres' : 'mysql'}://u@kp-core-no-such-host.invalid:5432/test`)
    const error = await nowhere.connect(CONNECT).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(nowhere.classifyConnectFailure(error)).toBe('fatal')
  })

  it('gives up after the connect timeout, transient, without leaving a socket behind', async () => {
    const sockets: Socket[] = []
    const closed: Socket[] = []
    // Accepts the TCP connection and never says a word.
    const silent: Server = createServer((socket) => {
      sockets.push(socket)
      socket.on('close', () => closed.push(socket))
      socket.on('error', () => {})
      socket.resume() // read, so that the client's close is seen
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = silent.address() as { port: number }
      const hanging = connectorFor(db, `${isPostgres ? 'postgres' : 'mysql'}://u:${PASSWORD}@127.0.0.1:${port}/test`)
      const error = await hanging.connect({ timeoutMillis: 200 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ConnectTimeoutError)
      expect(hanging.classifyConnectFailure(error)).toBe('transient')
      expectNoPassword(error)
      expect(await eventually(() => sockets.length === 1 && closed.length === 1)).toBe(true)
    } finally {
      silent.close()
    }
  })

  it('classifies a wrong password as fatal, with no password anywhere in the error', async () => {
    // The shared PostgreSQL trusts local connections: a fake server plays the refusal.
    const fake = isPostgres ? await startFakePostgresAuthServer() : undefined
    try {
      const url = fake
        ? `postgres://${PASSWORD_USER}:kp-wrong-pw@127.0.0.1:${fake.port}/test`
        : urlWithUser(db.url, PASSWORD_USER, 'kp-wrong-pw')
      const wrong = connectorFor(db, url)
      const error = await wrong.connect(CONNECT).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(Error)
      if (fake) {
        expect(fake.passwords).toEqual(['kp-wrong-pw'])
        expect((error as { code?: unknown }).code).toBe('28P01')
      } else {
        expect((error as { errno?: unknown }).errno).toBe(1045)
      }
      expect(wrong.classifyConnectFailure(error)).toBe('fatal')
      expectNoPassword(error, 'kp-wrong-pw')
    } finally {
      await fake?.close()
    }
  })

  it('connects with a password and keeps it out of the target', async () => {
    const url = urlWithUser(db.url, PASSWORD_USER, PASSWORD)
    const right = connectorFor(db, url)
    expect(right.target).not.toContain(PASSWORD)
    const connection = await right.connect(CONNECT)
    try {
      const [row] = await run(
        db,
        connection,
        isPostgres ? 'SELECT current_user AS who' : "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS who",
      )
      expect(row).toEqual({ who: PASSWORD_USER })
    } finally {
      await connection.close()
    }
  })
})

function expectNoPassword(error: unknown, password = PASSWORD): void {
  const err = error as Error
  const json = JSON.stringify(err, Object.getOwnPropertyNames(err))
  for (const text of [err.message, err.stack ?? '', json, String(err)]) {
    expect(text).not.toContain(password)
  }
}

/** `kp_core_pw_user` with password `kp-secret-pw`, created idempotently (other test files may race us). */
async function ensurePasswordUser(db: TestDatabase, admin: Admin): Promise<void> {
  if (db.dialect === 'postgres') {
    await ignoreAlreadyExists(admin.query(`CREATE ROLE ${PASSWORD_USER} LOGIN PASSWORD '${PASSWORD}'`))
  } else {
    await admin.query(`CREATE USER IF NOT EXISTS '${PASSWORD_USER}'@'%' IDENTIFIED BY '${PASSWORD}'`)
    const database = new URL(db.url).pathname.slice(1)
    await admin.query(`GRANT SELECT ON \`${database}\`.* TO '${PASSWORD_USER}'@'%'`)
  }
}

async function ignoreAlreadyExists(query: Promise<unknown>): Promise<void> {
  try {
    await query
  } catch (error) {
    // 42710 duplicate_object; 23505 when two sessions create the same role at once.
    if (!['42710', '23505'].includes((error as { code?: string }).code ?? '')) throw error
  }
}
