import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, type Pool } from '../../src/index.js'
import { testDatabases, type TestDatabase, type TestDialect } from '../../src/testing/index.js'
import {
  connectorFor,
  openAdmin,
  run,
  serverId,
  urlWithUser,
  type Admin,
  type DriverConnection,
} from '../connector/support/databases.js'

/**
 * Release hygiene, one session-state kind per test: with `max: 1`, borrower A
 * changes the session and releases; borrower B gets the same server session
 * (same backend/thread id: it was reset, not replaced) and sees it as fresh.
 */
interface HygieneCase {
  readonly kind: string
  /** What borrower A runs. */
  readonly dirty: readonly string[]
  /** What tells a dirty session from a fresh one (run by a fresh session, by A, then by B). */
  readonly probe: (query: (sql: string) => Promise<unknown>) => Promise<unknown>
  /** Optional: something another connection must be able to do once A released (locks). */
  readonly fromOutside?: (admin: Admin) => Promise<unknown>
  /** Connect as this user instead of the test URL's. */
  readonly user?: { readonly name: string; readonly password: string }
  /** Resets the three leases cost, when the probe itself counts as a change (default 1: the dirty lease's). */
  readonly resets?: number
}

const HYG_PASSWORD = 'kp-secret-pw'
const value = (sql: string) => async (query: (sql: string) => Promise<unknown>) => firstValue(await query(sql))
const existence = (sql: string) => async (query: (sql: string) => Promise<unknown>) =>
  query(sql).then(
    () => 'present',
    () => 'absent',
  )

const CASES: Record<TestDialect, readonly HygieneCase[]> = {
  postgres: [
    {
      kind: 'SET',
      dirty: ["SET statement_timeout = '4321'"],
      probe: value("SELECT current_setting('statement_timeout') AS v"),
    },
    {
      kind: 'set_config',
      dirty: ["SELECT set_config('kp_core.hyg', 'dirty', false)"],
      // A custom setting once defined stays defined (empty) after RESET ALL; its value is what matters.
      probe: value("SELECT COALESCE(NULLIF(current_setting('kp_core.hyg', true), ''), 'unset') AS v"),
    },
    // RESET needs no case of its own: it returns a setting to the session's
    // default, which is the fresh session's value (the connector still flags it).
    { kind: 'SET ROLE', dirty: ['SET ROLE kp_core_hyg_role'], probe: value('SELECT current_user AS v') },
    {
      kind: 'SET SESSION AUTHORIZATION',
      dirty: ['SET SESSION AUTHORIZATION kp_core_hyg_role'],
      probe: value('SELECT session_user AS v'),
    },
    {
      kind: 'temp table',
      dirty: ['CREATE TEMP TABLE kp_core_hyg_tmp (a int)'],
      probe: existence('SELECT * FROM kp_core_hyg_tmp'),
    },
    {
      kind: 'session advisory lock',
      dirty: ['SELECT pg_advisory_lock(770001)'],
      probe: value("SELECT count(*)::int AS v FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"),
      fromOutside: async (admin) =>
        firstValue(await admin.query('SELECT pg_try_advisory_lock(770001) AS v, pg_advisory_unlock(770001)')),
    },
    {
      kind: 'PREPARE',
      dirty: ['PREPARE kp_core_hyg_p AS SELECT 1'],
      probe: value("SELECT count(*)::int AS v FROM pg_prepared_statements WHERE name = 'kp_core_hyg_p'"),
    },
    {
      kind: 'LISTEN',
      dirty: ['LISTEN kp_core_hyg_channel'],
      probe: value("SELECT count(*)::int AS v FROM pg_listening_channels() AS c WHERE c = 'kp_core_hyg_channel'"),
    },
    {
      kind: 'cursor WITH HOLD',
      dirty: ['BEGIN', 'DECLARE kp_core_hyg_cursor CURSOR WITH HOLD FOR SELECT 1', 'COMMIT'],
      probe: value("SELECT count(*)::int AS v FROM pg_cursors WHERE name = 'kp_core_hyg_cursor'"),
    },
  ],
  mysql: [
    // sql_mode also checks what the handshake added (mysql2's IGNORE_SPACE), which COM_RESET_CONNECTION alone loses.
    {
      kind: 'SET SESSION',
      dirty: ["SET SESSION sql_mode = 'ANSI'", "SET time_zone = '+05:00'"],
      probe: value("SELECT CONCAT(@@SESSION.sql_mode, ' ', @@SESSION.time_zone) AS v"),
    },
    { kind: 'SET autocommit', dirty: ['SET autocommit = 0'], probe: value('SELECT @@autocommit AS v') },
    { kind: 'user variable (SET @x)', dirty: ["SET @kp_core_hyg = 'dirty'"], probe: value('SELECT @kp_core_hyg AS v') },
    {
      kind: 'user variable (SELECT @x :=)',
      dirty: ["SELECT @kp_core_hyg2 := 'dirty'"],
      probe: value('SELECT @kp_core_hyg2 AS v'),
    },
    {
      kind: 'SET ROLE',
      user: { name: 'kp_core_hyg_user', password: HYG_PASSWORD },
      // COM_RESET_CONNECTION alone keeps the role (MariaDB 10.11).
      dirty: ['SET ROLE kp_core_hyg_role'],
      probe: value('SELECT CURRENT_ROLE() AS v'),
    },
    { kind: 'USE', dirty: ['USE mysql'], probe: value('SELECT DATABASE() AS v') },
    {
      kind: 'USE and SET ROLE after the session was already changed',
      user: { name: 'kp_core_hyg_user', password: HYG_PASSWORD },
      dirty: ['SET @kp_core_first = 1', 'USE information_schema', 'SET ROLE kp_core_hyg_role'],
      probe: value("SELECT CONCAT_WS(' ', DATABASE(), CURRENT_ROLE(), @kp_core_first) AS v"),
    },
    {
      kind: 'temporary table',
      dirty: ['CREATE TEMPORARY TABLE kp_core_hyg_tmp (a int)'],
      probe: existence('SELECT * FROM kp_core_hyg_tmp'),
    },
    {
      kind: 'PREPARE',
      dirty: ["PREPARE kp_core_hyg_p FROM 'SELECT 1'"],
      probe: existence('EXECUTE kp_core_hyg_p'),
      // EXECUTE may run anything (a statement prepared by onConnect, say): the sniff counts it as a change.
      resets: 3,
    },
    {
      kind: 'GET_LOCK',
      dirty: ["SELECT GET_LOCK('kp_core_hyg_lock', 0)"],
      probe: value("SELECT IS_USED_LOCK('kp_core_hyg_lock') = CONNECTION_ID() AS v"),
      fromOutside: async (admin) =>
        firstValue(await admin.query("SELECT GET_LOCK('kp_core_hyg_lock', 0) AS v, RELEASE_LOCK('kp_core_hyg_lock')")),
    },
    {
      kind: 'LOCK TABLES',
      dirty: ['LOCK TABLES kp_core_hyg_locked READ'],
      probe: existence('SELECT * FROM kp_core_hyg_other'),
    },
  ],
}

describe.each(testDatabases())('release hygiene on $dialect', (db) => {
  let admin: Admin
  const pools: Pool<DriverConnection>[] = []

  beforeAll(async () => {
    admin = await openAdmin(db)
    await prepareObjects(db, admin)
  })

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.destroy({ graceMillis: 0 })))
    await admin.close()
  })

  function poolFor(hygiene: HygieneCase): Pool<DriverConnection> {
    const url = hygiene.user ? urlWithUser(db.url, hygiene.user.name, hygiene.user.password) : db.url
    const pool = createPool(connectorFor(db, url), { max: 1, name: `kp_core_hyg_${db.dialect}` })
    pools.push(pool)
    return pool
  }

  it.each(CASES[db.dialect])('$kind: the next borrower gets a fresh session', async (hygiene) => {
    const pool = poolFor(hygiene)
    const probeOn = (connection: DriverConnection) => hygiene.probe((sql) => run(db, connection, sql))

    const fresh = await pool.use(async (connection) => ({
      id: serverId(db, connection),
      probe: await probeOn(connection),
    }))
    const dirtied = await pool.use(async (connection) => {
      for (const statement of hygiene.dirty) await run(db, connection, statement)
      return { id: serverId(db, connection), probe: await probeOn(connection) }
    })
    // The case really changed the session (else it would prove nothing).
    expect(dirtied.id).toBe(fresh.id)
    expect(dirtied.probe).not.toEqual(fresh.probe)

    const after = await pool.use(async (connection) => ({
      id: serverId(db, connection),
      probe: await probeOn(connection),
    }))
    expect(after).toEqual(fresh)
    expect(pool.stats().resetOnRelease).toBe(hygiene.resets ?? 1)
    expect(pool.stats().destroyed).toBe(0)
    if (hygiene.fromOutside) {
      expect(await hygiene.fromOutside(admin)).toEqual(1)
    }
  })

  it('a clean borrower causes no reset', async () => {
    const pool = poolFor({ kind: 'clean', dirty: [], probe: value('SELECT 1 AS v') })
    for (let i = 0; i < 5; i++) {
      await pool.use((connection) => run(db, connection, 'SELECT 1'))
    }
    expect(pool.stats()).toMatchObject({ created: 1, resetOnRelease: 0, rolledBackOnRelease: 0 })
  })
})

function firstValue(rows: unknown): unknown {
  const row = (rows as Array<Record<string, unknown>>)[0]
  const v = row?.v
  // pg and mysql2 differ on numbers from booleans/counts; compare as numbers or strings.
  return typeof v === 'boolean' ? Number(v) : typeof v === 'bigint' ? Number(v) : v
}

async function prepareObjects(db: TestDatabase, admin: Admin): Promise<void> {
  if (db.dialect === 'postgres') {
    await admin.query(
      'DO $$ BEGIN CREATE ROLE kp_core_hyg_role; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$',
    )
    return
  }
  const database = new URL(db.url).pathname.slice(1)
  await admin.query('CREATE TABLE IF NOT EXISTS kp_core_hyg_locked (a int)')
  await admin.query('CREATE TABLE IF NOT EXISTS kp_core_hyg_other (a int)')
  await admin.query('CREATE ROLE IF NOT EXISTS kp_core_hyg_role')
  await admin.query(`CREATE USER IF NOT EXISTS 'kp_core_hyg_user'@'%' IDENTIFIED BY '${HYG_PASSWORD}'`)
  await admin.query(`GRANT SELECT ON \`${database}\`.* TO 'kp_core_hyg_user'@'%'`)
  await admin.query(`GRANT kp_core_hyg_role TO 'kp_core_hyg_user'@'%'`)
}
