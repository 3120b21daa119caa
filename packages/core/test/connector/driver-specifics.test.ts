import type pg from 'pg'
import type mysql from 'mysql2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mysqlConnector } from '../../src/connector/mysql-connector.js'
import { postgresConnector } from '../../src/connector/postgres-connector.js'
import type { ConnectionHandle } from '../../src/connector/connector.js'
import { PoolConfigError } from '../../src/errors/pool-config-error.js'
import { testDatabase } from '../../src/testing/index.js'
import { openAdmin, run, type Admin } from './support/databases.js'

const CONNECT = { timeoutMillis: 10_000 }

describe('postgresConnector specifics', () => {
  const db = testDatabase('postgres')
  const connector = postgresConnector(db.url)
  let handle: ConnectionHandle<pg.Client>
  let client: pg.Client

  beforeAll(async () => {
    handle = (await connector.connect(CONNECT)) as unknown as ConnectionHandle<pg.Client>
    client = handle.client
  })
  afterAll(async () => {
    await handle.close()
  })

  it('is busy between an error and ReadyForQuery, when the status is still stale', async () => {
    await client.query('BEGIN')
    const seenInCallback = await new Promise<{ busy: boolean; status: string | null }>((resolve) => {
      // The callback runs on ErrorResponse, before ReadyForQuery brings the new status.
      client.query('SELECT 1 / 0', () => resolve({ busy: handle.isBusy(), status: client.getTransactionStatus() }))
    })
    expect(seenInCallback).toEqual({ busy: true, status: 'T' })
    await handle.whenIdle()
    expect(handle.isBusy()).toBe(false)
    expect(handle.transactionState()).toBe('failed')
    await handle.rollback()
    expect(handle.transactionState()).toBe('idle')
  })

  it('sniffs query configs as well as strings', async () => {
    await client.query({ text: 'SELECT 1' })
    expect(handle.isSessionChanged()).toBe(false)
    await client.query({ text: "SET application_name = 'kp_core_specifics'" })
    expect(handle.isSessionChanged()).toBe(true)
    await handle.resetSession()
    expect(handle.isSessionChanged()).toBe(false)
  })

  it('refuses an unparseable connection string at construction, naming the option, without the password', () => {
    const error = configError(() => postgresConnector('postgres://u:kp-sekret-1@127.0.0.1:notaport/db'))
    expect(error.problems[0]).toMatch(/^connection: /)
    expectNoSecret(error, 'kp-sekret-1')
  })

  it('accepts what pg accepts: a socket path, an empty host, a stray %', () => {
    expect(postgresConnector('/var/run/postgresql somedb').target).toContain('postgres')
    expect(postgresConnector('postgres://u@/db?host=/var/run/postgresql').target).not.toContain('kp')
    expect(postgresConnector('postgres://u:50%off@127.0.0.1/db').target).not.toContain('50%off')
  })
})

describe('mysqlConnector specifics', () => {
  const db = testDatabase('mysql')
  const connector = mysqlConnector(db.url)
  let admin: Admin
  let a: ConnectionHandle<mysql.Connection>
  let b: ConnectionHandle<mysql.Connection>

  beforeAll(async () => {
    admin = await openAdmin(db)
    await admin.query('CREATE TABLE IF NOT EXISTS kp_core_spec_rows (id int PRIMARY KEY, n int NOT NULL) ENGINE=InnoDB')
    await admin.query('INSERT IGNORE INTO kp_core_spec_rows VALUES (1, 0), (2, 0)')
    a = (await connector.connect(CONNECT)) as unknown as ConnectionHandle<mysql.Connection>
    b = (await connector.connect(CONNECT)) as unknown as ConnectionHandle<mysql.Connection>
  })
  afterAll(async () => {
    await Promise.all([a.close(), b.close()])
    await admin.close()
  })

  it('reports unknown after an error with autocommit off, idle after the rollback', async () => {
    await run(db, a, 'SET autocommit = 0')
    await expect(run(db, a, 'SELECT no_such_column FROM kp_core_spec_rows')).rejects.toThrow()
    expect(a.transactionState()).toBe('unknown')
    await a.rollback()
    expect(a.transactionState()).toBe('idle')
    await a.resetSession()
    expect(await run(db, a, 'SELECT @@autocommit AS ac')).toEqual([{ ac: 1 }])
  })

  it('knows a deadlock victim’s transaction was rolled back', async () => {
    await run(db, a, 'BEGIN')
    await run(db, b, 'BEGIN')
    await run(db, a, 'UPDATE kp_core_spec_rows SET n = n + 1 WHERE id = 1')
    await run(db, b, 'UPDATE kp_core_spec_rows SET n = n + 1 WHERE id = 2')
    const first = run(db, a, 'UPDATE kp_core_spec_rows SET n = n + 1 WHERE id = 2').then(
      () => null,
      (e: { errno: number }) => e.errno,
    )
    // Wait until a is blocked on b's row lock before closing the cycle.
    await expect
      .poll(
        async () =>
          (
            await admin.query(
              "SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'",
              [a.client.threadId],
            )
          ).length,
        { timeout: 10_000 },
      )
      .toBe(1)
    const second = run(db, b, 'UPDATE kp_core_spec_rows SET n = n + 1 WHERE id = 1').then(
      () => null,
      (e: { errno: number }) => e.errno,
    )
    const [errnoA, errnoB] = await Promise.all([first, second])
    const victim = errnoA === 1213 ? a : b
    const survivor = victim === a ? b : a
    expect([errnoA, errnoB].sort()).toEqual([1213, null].sort())
    expect(victim.transactionState()).toBe('idle')
    expect(survivor.transactionState()).toBe('in-transaction')
    await survivor.rollback()
  })

  it('refuses an unparseable URI at construction, naming the option, without the password', () => {
    const error = configError(() => mysqlConnector('mysql://u:kp-sekret-2@127.0.0.1:notaport/db'))
    expect(error.problems[0]).toMatch(/^connection: /)
    expectNoSecret(error, 'kp-sekret-2')
  })

  it('refuses a malformed %-escape in the password (not a bare URIError), without the password', () => {
    const error = configError(() => mysqlConnector('mysql://u:kp-sekret%zz3@127.0.0.1:3306/db'))
    expect(error.problems[0]).toMatch(/^connection: .*malformed %-escape in its password/)
    expectNoSecret(error, 'kp-sekret')
  })
})

describe.each([
  ['postgres', (url: string) => postgresConnector(url, { statementTimeoutMillis: -1, closeTimeoutMillis: 2 ** 31 })],
  ['mysql', (url: string) => mysqlConnector(url, { interruptTimeoutMillis: Number.NaN })],
] as const)('%s connector options', (dialect, make) => {
  it('refuses out-of-range milliseconds as a PoolConfigError naming each option', () => {
    const error = configError(() => make(testDatabase(dialect).url))
    for (const problem of error.problems)
      expect(problem).toMatch(/^(statementTimeoutMillis|closeTimeoutMillis|interruptTimeoutMillis) must be/)
    expect(error.problems).toHaveLength(dialect === 'postgres' ? 2 : 1)
  })
})

function configError(construct: () => unknown): PoolConfigError {
  try {
    construct()
  } catch (error) {
    expect(error).toBeInstanceOf(PoolConfigError)
    expect((error as PoolConfigError).code).toBe('POOL_CONFIG')
    return error as PoolConfigError
  }
  throw new Error('expected a PoolConfigError')
}

function expectNoSecret(error: Error, secret: string): void {
  expect(JSON.stringify(error, Object.getOwnPropertyNames(error)) + String(error.stack) + String(error)).not.toContain(
    secret,
  )
}
