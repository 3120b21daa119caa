import type pg from 'pg'
import type mysql from 'mysql2'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createPool, mysqlConnector, postgresConnector, type Connector, type Pool } from '../../src/index.js'
import { testDatabase } from '../../src/testing/index.js'
import { openAdmin, urlWithDatabase, type Admin } from '../connector/support/databases.js'

/*
 * After a reset the connection is back at its baseline: the database and
 * role it was opened with, the onConnect state, and the settings the pool
 * itself applies (the statement timeout). MySQL's COM_RESET_CONNECTION keeps
 * USE's database and SET ROLE's role, so the connector restores them — also
 * when the USE was spelled so that no regex would see it.
 */

function ask(connection: mysql.Connection, sql: string): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) =>
    connection.query(sql, (error, rows) => (error ? reject(error) : resolve(rows as Array<Record<string, unknown>>))),
  )
}

describe('baseline after a reset: MySQL/MariaDB', () => {
  const db = testDatabase('mysql')
  let admin: Admin
  let pool: Pool<mysql.Connection> | undefined

  beforeAll(async () => {
    admin = await openAdmin(db)
    await admin.query('CREATE DATABASE IF NOT EXISTS kp_so_other')
    await admin.query('CREATE ROLE IF NOT EXISTS kp_so_role')
    await admin.query('GRANT kp_so_role TO CURRENT_USER')
  })

  afterEach(async () => {
    await pool?.destroy({ graceMillis: 0 })
    pool = undefined
  })

  afterAll(async () => {
    await admin?.close()
  })

  const baselineOf = async (connection: mysql.Connection) =>
    (
      await ask(
        connection,
        'SELECT CONNECTION_ID() AS id, DATABASE() AS db, CURRENT_ROLE() AS role, @@max_statement_time AS timeout, @@lock_wait_timeout AS lockWait',
      )
    )[0]!

  it.each([
    ['plainly', ['USE kp_so_other', 'SET ROLE kp_so_role']],
    ['in executable comments', ['/*!40101 USE kp_so_other */', '/*! SET ROLE kp_so_role */']],
    ['after comments', ['# hop\nUSE kp_so_other', '/* c */ SET /* c */ ROLE kp_so_role']],
  ])(
    'puts back the database, the role, onConnect state and the statement timeout (USE and SET ROLE %s)',
    async (_how, statements) => {
      pool = createPool(
        mysqlConnector(db.url, { statementTimeoutMillis: 5000 }) as unknown as Connector<mysql.Connection>,
        {
          max: 1,
          reset: 'auto',
          onConnect: (connection) => ask(connection, 'SET SESSION lock_wait_timeout = 77').then(() => undefined),
        },
      )
      const before = await pool.use(baselineOf)
      expect(before).toMatchObject({ db: 'test', role: null, timeout: 5, lockWait: 77 })
      await pool.use(async (connection) => {
        for (const statement of statements) await ask(connection, statement)
        await ask(connection, 'SET SESSION max_statement_time = 99, lock_wait_timeout = 1')
        expect(await baselineOf(connection)).toMatchObject({ db: 'kp_so_other', role: 'kp_so_role' })
      })
      expect(await pool.use(baselineOf)).toEqual(before)
    },
  )

  it('opened without a database, a USE cannot be undone: the connection is closed instead', async () => {
    pool = createPool(mysqlConnector(urlWithDatabase(db.url, '')) as unknown as Connector<mysql.Connection>, {
      max: 1,
      reset: 'auto',
    })
    const first = await pool.use(async (connection) => {
      await ask(connection, '/*! USE kp_so_other */')
      return baselineOf(connection)
    })
    expect(first.db).toBe('kp_so_other')
    const next = await pool.use(baselineOf)
    expect(next.db).toBeNull()
    expect(next.id).not.toBe(first.id)
  })
})

describe('baseline after a reset: PostgreSQL', () => {
  const db = testDatabase('postgres')
  let admin: Admin
  let pool: Pool<pg.Client> | undefined

  beforeAll(async () => {
    admin = await openAdmin(db)
    await admin.query(
      'DO $$ BEGIN CREATE ROLE kp_so_role; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$',
    )
  })

  afterEach(async () => {
    await pool?.destroy({ graceMillis: 0 })
    pool = undefined
  })

  afterAll(async () => {
    await admin?.close()
  })

  const baselineOf = async (client: pg.Client) =>
    (
      await client.query(
        "SELECT pg_backend_pid() AS pid, current_user::text AS current, session_user::text AS session, current_setting('statement_timeout') AS timeout, current_setting('application_name') AS app, current_database() AS db",
      )
    ).rows[0] as Record<string, unknown>

  it('puts back the role, the session user, onConnect state and the statement timeout', async () => {
    pool = createPool(postgresConnector(db.url, { statementTimeoutMillis: 5000 }) as unknown as Connector<pg.Client>, {
      max: 1,
      reset: 'auto',
      onConnect: (client) => client.query("SET application_name = 'kp_so_baseline'").then(() => undefined),
    })
    const before = await pool.use(baselineOf)
    expect(before).toMatchObject({ timeout: '5s', app: 'kp_so_baseline' })
    await pool.use(async (client) => {
      await client.query('SET SESSION AUTHORIZATION kp_so_role')
      await client.query('/* c */ SET ROLE NONE')
      await client.query(
        "SELECT set_config('statement_timeout', '99', false), set_config('application_name', 'x', false)",
      )
      expect(await baselineOf(client)).toMatchObject({ current: 'kp_so_role', session: 'kp_so_role', timeout: '99ms' })
    })
    expect(await pool.use(baselineOf)).toEqual(before)
  })
})
