import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MYSQL_SESSION_CHANGE, POSTGRES_SESSION_CHANGE } from '../../src/connector/session-change-detector.js'
import { testDatabases, type TestDialect } from '../../src/testing/index.js'
import { connectorFor, countRoundTrips, openAdmin, run, type Admin, type Handle } from './support/databases.js'

/** One case: statements run in order on one connection, and whether the session is then "changed". */
type Case = readonly [label: string, statements: readonly string[], changed: boolean]

const CASES: Record<TestDialect, readonly Case[]> = {
  postgres: [
    ['plain select', ['SELECT 1'], false],
    ['UPDATE … SET', ['UPDATE kp_core_sc_items SET n = n + 1 WHERE id = 0'], false],
    [
      'INSERT … ON CONFLICT DO UPDATE SET',
      ['INSERT INTO kp_core_sc_items VALUES (0, 0) ON CONFLICT (id) DO UPDATE SET n = 0'],
      false,
    ],
    ['a column called temp', ['SELECT 1 AS temp, 2 AS reset'], false],
    [
      'transaction-scoped settings and locks',
      [
        'BEGIN',
        'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
        'SET LOCAL statement_timeout = 1000',
        'SET CONSTRAINTS ALL DEFERRED',
        'SELECT pg_advisory_xact_lock(4242)',
        'DECLARE kp_c CURSOR FOR SELECT 1',
        'COMMIT',
      ],
      false,
    ],
    ['named statement (pg keeps its own cache)', ['<named>'], false],
    ['SET', ['SET statement_timeout = 1234'], true],
    ['SET after a comment', ['/* hint */ SET search_path = public'], true],
    ['SET in a multi-statement query', ["SELECT 1; set work_mem = '8MB'"], true],
    ['SET inside a transaction (survives COMMIT)', ['BEGIN', 'SET statement_timeout = 999', 'COMMIT'], true],
    ['set_config', ["SELECT set_config('kp.core', '1', false)"], true],
    ['RESET', ['RESET statement_timeout'], true],
    ['SET ROLE', ['SET ROLE kp_core_sc_role'], true],
    ['SET SESSION AUTHORIZATION', ['SET SESSION AUTHORIZATION kp_core_sc_role'], true],
    ['CREATE TEMP TABLE', ['CREATE TEMP TABLE kp_core_sc_tmp (a int)'], true],
    ['SELECT INTO TEMP', ['SELECT 1 AS a INTO TEMP kp_core_sc_tmp2'], true],
    ['pg_advisory_lock', ['SELECT pg_advisory_lock(4243)'], true],
    ['pg_try_advisory_lock_shared', ['SELECT pg_try_advisory_lock_shared(4244)'], true],
    ['PREPARE', ['PREPARE kp_core_sc_p AS SELECT 1'], true],
    ['LISTEN', ['LISTEN kp_core_sc_channel'], true],
    ['cursor WITH HOLD', ['BEGIN', 'DECLARE kp_core_sc_c CURSOR WITH HOLD FOR SELECT 1', 'COMMIT'], true],
    ['a function changing a reported setting (ParameterStatus)', ['SELECT kp_core_sc_set_timezone()'], true],
  ],
  mysql: [
    ['plain select', ['SELECT 1'], false],
    ['UPDATE … SET', ['UPDATE kp_core_sc_items SET n = n + 1 WHERE id = 0'], false],
    [
      'INSERT … ON DUPLICATE KEY UPDATE',
      ['INSERT INTO kp_core_sc_items VALUES (0, 0) ON DUPLICATE KEY UPDATE n = 0'],
      false,
    ],
    ['a transaction', ['BEGIN', 'SELECT * FROM kp_core_sc_items FOR UPDATE', 'COMMIT'], false],
    [
      "SET TRANSACTION (the next transaction may be the next borrower's)",
      ['SET TRANSACTION ISOLATION LEVEL READ COMMITTED'],
      true,
    ],
    ['user variable: SET @x', ['SET @kp_x = 1'], true],
    ['user variable: SELECT @x := (the server does not flag it)', ['SELECT @kp_y := 1'], true],
    ['user variable: SELECT … INTO @x (not flagged either)', ['SELECT 1 INTO @kp_z'], true],
    ['a procedure setting a session variable (flag only)', ['CALL kp_core_sc_set_mode()'], true],
    ['CREATE TEMPORARY TABLE', ['CREATE TEMPORARY TABLE kp_core_sc_tmp (a int)'], true],
    ['PREPARE', ["PREPARE kp_core_sc_p FROM 'SELECT 1'"], true],
    ['GET_LOCK (not flagged by the server)', ["SELECT GET_LOCK('kp_core_sc_lock', 0)"], true],
    ['SET SESSION variable', ["SET SESSION sql_mode = 'ANSI'"], true],
    ['SET time_zone', ["SET time_zone = '+03:00'"], true],
    ['SET autocommit', ['SET autocommit = 0'], true],
    ['SET NAMES', ['SET NAMES latin1'], true],
    ['SET ROLE', ['SET ROLE NONE'], true],
    ['USE', ['USE mysql'], true],
    ['LOCK TABLES', ['LOCK TABLES kp_core_sc_items READ'], true],
  ],
}

describe.each(testDatabases())('session-change detection on $dialect', (db) => {
  const connector = connectorFor(db)
  let admin: Admin
  let connection: Handle

  beforeAll(async () => {
    admin = await openAdmin(db)
    if (db.dialect === 'postgres') {
      await admin
        .query('CREATE TABLE IF NOT EXISTS kp_core_sc_items (id int PRIMARY KEY, n int NOT NULL)')
        .catch(ignoreRace)
      await admin.query(
        'DO $$ BEGIN CREATE ROLE kp_core_sc_role; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$',
      )
      await admin
        .query(
          `CREATE OR REPLACE FUNCTION kp_core_sc_set_timezone() RETURNS text LANGUAGE sql AS $$ SELECT set_config('TimeZone', 'Pacific/Chatham', false) $$`,
        )
        .catch(ignoreRace)
    } else {
      await admin.query(
        'CREATE TABLE IF NOT EXISTS kp_core_sc_items (id int PRIMARY KEY, n int NOT NULL) ENGINE=InnoDB',
      )
      await admin.query("CREATE OR REPLACE PROCEDURE kp_core_sc_set_mode() SET SESSION sql_mode = 'ANSI_QUOTES'")
    }
    await admin.query(
      db.dialect === 'postgres'
        ? 'INSERT INTO kp_core_sc_items VALUES (0, 0) ON CONFLICT DO NOTHING'
        : 'INSERT IGNORE INTO kp_core_sc_items VALUES (0, 0)',
    )
    connection = await connector.connect({ timeoutMillis: 10_000 })
  })

  afterAll(async () => {
    await connection.close()
    await admin.close()
  })

  it('starts unchanged after connect', () => {
    expect(connection.isSessionChanged()).toBe(false)
  })

  it.each(CASES[db.dialect])('%s → changed: %s', async (_label, statements, changed) => {
    for (const statement of statements) {
      if (statement === '<named>') {
        await (connection.client as import('pg').Client).query({
          name: 'kp_core_sc_named',
          text: 'SELECT $1::int AS n',
          values: [1],
        })
      } else {
        await run(db, connection, statement)
      }
    }
    expect(connection.isSessionChanged()).toBe(changed)
    // Every case leaves the connection clean for the next one.
    await connection.resetSession()
    expect(connection.isSessionChanged()).toBe(false)
    expect(connection.transactionState()).toBe('idle')
  })

  it('resets what the cases changed', async () => {
    const trips = countRoundTrips(db, connection)
    if (db.dialect === 'postgres') {
      await run(db, connection, 'SET statement_timeout = 4321')
      await run(db, connection, 'CREATE TEMP TABLE kp_core_sc_gone (a int)')
      await connection.resetSession()
      expect(
        await run(
          db,
          connection,
          "SELECT current_setting('statement_timeout') AS t, to_regclass('pg_temp.kp_core_sc_gone') AS tmp, current_user AS who",
        ),
      ).toEqual([{ t: '0', tmp: null, who: new URL(db.url).username || 'postgres' }])
      // pg's named statement cache was cleared with the server's: the name is parsed again.
      const named = { name: 'kp_core_sc_named2', text: 'SELECT $1::int AS n', values: [5] }
      const client = connection.client as import('pg').Client
      await client.query(named)
      await connection.resetSession()
      expect((await client.query(named)).rows).toEqual([{ n: 5 }])
    } else {
      await run(db, connection, 'SET @kp_gone = 7')
      await run(db, connection, 'USE mysql')
      await run(db, connection, 'CREATE TEMPORARY TABLE kp_core_sc_gone (a int)')
      await connection.resetSession()
      expect(await run(db, connection, 'SELECT @kp_gone AS v, DATABASE() AS db')).toEqual([
        { v: null, db: new URL(db.url).pathname.slice(1) },
      ])
      await expect(run(db, connection, 'SELECT * FROM kp_core_sc_gone')).rejects.toThrow()
      // Tracking is back on after the reset: the server flags the next change again.
      await run(db, connection, 'CALL kp_core_sc_set_mode()')
      expect(connection.isSessionChanged()).toBe(true)
      await connection.resetSession()
    }
    expect(trips.count()).toBeGreaterThan(0)
  })
})

describe('the SQL sniff alone', () => {
  it.each([
    ['SET LOCAL x = 1', false],
    ['  set   transaction read only', false],
    ['SET CONSTRAINTS ALL IMMEDIATE', false],
    ['SELECT pg_advisory_xact_lock(1)', false],
    ['SELECT pg_advisory_unlock(1)', true],
    ['UPDATE t SET a = 1', false],
    ['SELECT temp FROM weather', false],
    ['SELECT 1 -- SET x = 1', false],
    ['-- comment\nSET x = 1', true],
    ['CREATE GLOBAL TEMPORARY TABLE t (a int)', true],
    ['CREATE OR REPLACE TEMP VIEW v AS SELECT 1', true],
    ['CREATE TABLE pg_temp.t (a int)', true],
    ['SELECT pg_try_advisory_lock(1)', true],
    ['SELECT pg_advisory_lock_shared(1)', true],
    ['DO $$ BEGIN EXECUTE $q$SET x = 1$q$; END $$', true],
    ["LOAD 'auto_explain'", true],
  ])('postgres: %s → %s', (sql, changed) => {
    expect(POSTGRES_SESSION_CHANGE.test(sql)).toBe(changed)
  })

  it.each([
    ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', true],
    ['SET STATEMENT max_statement_time=1 FOR SELECT 1', false],
    ['SET STATEMENT max_statement_time=1 FOR SELECT GET_LOCK("x", 0)', true],
    ['UPDATE t SET a = 1', false],
    ['SELECT email FROM users WHERE email = "a@b.c"', false],
    ['SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE', true],
    ['SELECT @a:=1', true],
    ['SELECT a INTO @a FROM t', true],
    ['HANDLER t OPEN', true],
    ['LOCK TABLE t WRITE', true],
    ['select get_lock("x", 1)', true],
  ])('mysql: %s → %s', (sql, changed) => {
    expect(MYSQL_SESSION_CHANGE.test(sql)).toBe(changed)
  })
})

function ignoreRace(error: { code?: string }): void {
  // Another file creating the same object at the same moment.
  if (!['23505', '42P07', '42710', 'XX000'].includes(error.code ?? '')) throw error
}

/** The leaks issue 17 found (each survived release under reset: 'auto'), plus their benign neighbours. */
describe('the sniff reads what the server reads', () => {
  it.each([
    ['create table "pg_temp"."x" (a int)', true],
    ['select "pg_advisory_lock"(1)', true],
    [String.raw`select U&"pg\005fadvisory\005flock"(1)`, true],
    [String.raw`select U&"pg!005fadvisory!005flock" UESCAPE '!' (1)`, true],
    ['select pg_advisory_lock /*c*/ (1)', true],
    ['CREATE /*c*/ TEMP TABLE x (a int)', true],
    ["select set_config /*c*/ ('search_path', 'x', false)", true],
    ["select set_config('search_path', 'x', t) from (select true as t) s", true],
    ['SELECT 1 AS a INTO pg_temp.x', true],
    ['EXPLAIN ANALYZE CREATE TEMP TABLE x AS SELECT 1', true],
    ["DO LANGUAGE 'plpgsql' $$ BEGIN PERFORM 1; END $$", true],
    ['SET LOCAL search_path = pg_temp', true],
    ["select set_config('search_path', 'pg_temp, public', true)", true],
    ['select * from set_config($1, $2, false)', true],
    ['select * from pg_catalog.pg_advisory_lock(1)', true],
    ['with s as (select set_config($1, $2, false)) select * from s', true],
    ["update pg_catalog.pg_settings set setting = 'x' where name = 'search_path'", true],
    ['CALL kp_proc()', true],
    ['/* /* nested */ */ SET x = 1', true],
    ["select 'unterminated; set x = 1", true],
    // Benign neighbours.
    ["select set_config('search_path', 'app', true)", false],
    ["select set_config('app.tenant', $1, true)", false],
    ['SET LOCAL search_path = app, public', false],
    ['select pg_advisory_xact_lock(1)', false],
    ['CREATE TEMP TABLE x (a int) ON COMMIT DROP', false],
    ['select "temp" from "readings" where "set" = $1', false],
  ])('postgres: %s → %s', (sql, changed) => {
    expect(POSTGRES_SESSION_CHANGE.test(sql)).toBe(changed)
  })

  it.each([
    ['SELECT @`v` := 1', true],
    ["SELECT @'v' := 1", true],
    ['SELECT @v /* c */ := 1', true],
    ['SELECT 1 INTO /* c */ @v', true],
    ["SELECT `GET_LOCK`('x', 0)", true],
    ["SELECT GET_LOCK/**/('x', 0)", true],
    ['/*! LOCK TABLES t READ */', true],
    ['/*!40101 HANDLER t OPEN */', true],
    ['# comment\nLOCK TABLES t READ', true],
    ['SET TRANSACTION READ ONLY', true],
    ['USE otherdb', true],
    ['SELECT LAST_INSERT_ID(42)', true],
    ['BACKUP LOCK t', true],
    ['FLUSH TABLES WITH READ LOCK', true],
    ['BEGIN NOT ATOMIC SET @x = 1; END', true],
    ["SELECT 'a\\'; SET @x = 1 -- '", true],
    // Benign neighbours.
    ['SELECT LAST_INSERT_ID()', false],
    ['SELECT @v', false],
    ["SELECT 'GET_LOCK(1)', `lock` FROM t # SET @x = 1", false],
  ])('mysql: %s → %s', (sql, changed) => {
    expect(MYSQL_SESSION_CHANGE.test(sql)).toBe(changed)
  })
})
