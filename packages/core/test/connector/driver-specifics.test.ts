import type pg from 'pg'
import type mysql from 'mysql2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mysqlConnector } from '../../src/connector/mysql-connector.js'
import { postgresConnector } from '../../src/connector/postgres-connector.js'
import { testDatabase } from '../../src/testing/index.js'
import { openAdmin, run, type Admin } from './support/databases.js'

const CONNECT = { timeoutMillis: 10_000 }

describe('postgresConnector specifics', () => {
  const db = testDatabase('postgres')
  const connector = postgresConnector(db.url)
  let client: pg.Client

  beforeAll(async () => {
    client = (await connector.connect(CONNECT)) as pg.Client
  })
  afterAll(async () => {
    await connector.close(client)
  })

  it('is busy between an error and ReadyForQuery, when the status is still stale', async () => {
    await client.query('BEGIN')
    const seenInCallback = await new Promise<{ busy: boolean; status: string | null }>((resolve) => {
      // The callback runs on ErrorResponse, before ReadyForQuery brings the new status.
      client.query('SELECT 1 / 0', () =>
        resolve({ busy: connector.isBusy(client), status: client.getTransactionStatus() }),
      )
    })
    expect(seenInCallback).toEqual({ busy: true, status: 'T' })
    await connector.whenIdle(client)
    expect(connector.isBusy(client)).toBe(false)
    expect(connector.transactionState(client)).toBe('failed')
    await connector.rollback(client)
    expect(connector.transactionState(client)).toBe('idle')
  })

  it('sniffs query configs as well as strings', async () => {
    await client.query({ text: 'SELECT 1' })
    expect(connector.isSessionChanged(client)).toBe(false)
    await client.query({ text: "SET application_name = 'kp_core_specifics'" })
    expect(connector.isSessionChanged(client)).toBe(true)
    await connector.resetSession(client)
    expect(connector.isSessionChanged(client)).toBe(false)
  })

  it('keeps the password out of a connection-string parse error', async () => {
    const broken = postgresConnector('postgres://u:kp-sekret-1@127.0.0.1:notaport/db')
    expect(broken.target).not.toContain('kp-sekret-1')
    const error = (await broken.connect(CONNECT).catch((e: unknown) => e)) as Error
    expect(error).toBeInstanceOf(Error)
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error)) + String(error.stack)).not.toContain('kp-sekret-1')
  })
})

describe('mysqlConnector specifics', () => {
  const db = testDatabase('mysql')
  const connector = mysqlConnector(db.url)
  let admin: Admin
  let a: mysql.Connection
  let b: mysql.Connection

  beforeAll(async () => {
    admin = await openAdmin(db)
    await admin.query('CREATE TABLE IF NOT EXISTS kp_core_spec_rows (id int PRIMARY KEY, n int NOT NULL) ENGINE=InnoDB')
    await admin.query('INSERT IGNORE INTO kp_core_spec_rows VALUES (1, 0), (2, 0)')
    a = (await connector.connect(CONNECT)) as mysql.Connection
    b = (await connector.connect(CONNECT)) as mysql.Connection
  })
  afterAll(async () => {
    await Promise.all([connector.close(a), connector.close(b)])
    await admin.close()
  })

  it('reports unknown after an error with autocommit off, idle after the rollback', async () => {
    await run(db, a, 'SET autocommit = 0')
    await expect(run(db, a, 'SELECT no_such_column FROM kp_core_spec_rows')).rejects.toThrow()
    expect(connector.transactionState(a)).toBe('unknown')
    await connector.rollback(a)
    expect(connector.transactionState(a)).toBe('idle')
    await connector.resetSession(a)
    expect(await run(db, a, 'SELECT @@autocommit AS ac')).toEqual([{ ac: 1 }])
  })

  it('knows a deadlock victim’s transaction was rolled back', async () => {
    await run(db, a, 'BEGIN')
    await run(db, b, 'BEGIN')
    await run(db, a, 'UPDATE kp_core_spec_rows SET n = n + 1 WHERE id = 1')
    await run(db, b, 'UPDATE kp_core_spec_rows SET n = n + 1 WHERE id = 2')
    const first = run(db, a, 'UPDATE kp_core_spec_rows SET n = n + 1 WHERE id = 2').then(() => null, (e: { errno: number }) => e.errno)
    // Wait until a is blocked on b's row lock before closing the cycle.
    await expect.poll(async () => (await admin.query("SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'", [a.threadId])).length, { timeout: 10_000 }).toBe(1)
    const second = run(db, b, 'UPDATE kp_core_spec_rows SET n = n + 1 WHERE id = 1').then(() => null, (e: { errno: number }) => e.errno)
    const [errnoA, errnoB] = await Promise.all([first, second])
    const victim = errnoA === 1213 ? a : b
    const survivor = victim === a ? b : a
    expect([errnoA, errnoB].sort()).toEqual([1213, null].sort())
    expect(connector.transactionState(victim)).toBe('idle')
    expect(connector.transactionState(survivor)).toBe('in-transaction')
    await connector.rollback(survivor)
  })

  it('keeps the password out of a URI parse error', async () => {
    const broken = mysqlConnector('mysql://u:kp-sekret-2@127.0.0.1:notaport/db')
    expect(broken.target).not.toContain('kp-sekret-2')
    const error = (await broken.connect(CONNECT).catch((e: unknown) => e)) as Error
    expect(error).toBeInstanceOf(Error)
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error)) + String(error.stack)).not.toContain('kp-sekret-2')
  })
})
