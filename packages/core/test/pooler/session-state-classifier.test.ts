import { describe, expect, it } from 'vitest'
import {
  findSessionState,
  SAFE_ALTERNATIVES,
  type SessionStateKind,
} from '../../src/pooler/session-state-classifier.js'

const kindOf = (sql: string): SessionStateKind | undefined => findSessionState(sql)?.kind

/** Refused under pooler: 'transaction': each leaves state on the server connection. */
const REFUSED: ReadonlyArray<readonly [string, SessionStateKind]> = [
  ['SET search_path = app', 'SET'],
  ["set TIME ZONE 'UTC'", 'SET'],
  ['SET SESSION statement_timeout = 1000', 'SET'],
  ['SET ROLE app_reader', 'SET'],
  ['SET SESSION AUTHORIZATION app', 'SET'],
  ['SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'SET'],
  ['  /* why */ -- and\n  SET application_name TO x', 'SET'],
  ['select 1; set work_mem = 64', 'SET'],
  ['RESET search_path', 'RESET'],
  ['reset all', 'RESET'],
  ["SELECT set_config('search_path', 'app', false)", 'set_config(…, false)'],
  ["select pg_catalog.set_config('a.b', 'c', $1)", 'set_config(…, false)'],
  ["select set_config('a.b', 'c', is_local)", 'set_config(…, false)'],
  ["select set_config('a.b', 'c', not true)", 'set_config(…, false)'],
  ["select \"set_config\"('a.b', 'c', 'off')", 'set_config(…, false)'],
  ['SELECT pg_advisory_lock(42)', 'session advisory lock'],
  ['select pg_try_advisory_lock(1, 2)', 'session advisory lock'],
  ['SELECT Pg_Advisory_Lock_Shared (7)', 'session advisory lock'],
  ['select pg_try_advisory_lock_shared(7)', 'session advisory lock'],
  ['select pg_advisory_unlock(42)', 'session advisory lock'],
  ['select pg_advisory_unlock_all()', 'session advisory lock'],
  ['with x as (select pg_advisory_lock(1)) select * from x', 'session advisory lock'],
  ['LISTEN jobs', 'LISTEN'],
  ['UNLISTEN *', 'UNLISTEN'],
  ['PREPARE q(int) AS SELECT $1', 'PREPARE'],
  ['EXECUTE q(1)', 'EXECUTE'],
  ['DEALLOCATE ALL', 'DEALLOCATE'],
  ['deallocate prepare q', 'DEALLOCATE'],
  ['DECLARE c CURSOR WITH HOLD FOR SELECT 1', 'DECLARE … WITH HOLD'],
  ['declare c scroll cursor with hold for select 1', 'DECLARE … WITH HOLD'],
  ['CREATE TEMP TABLE t (a int)', 'temporary object'],
  ['create temporary table t (a int) on commit delete rows', 'temporary object'],
  ['CREATE TEMP TABLE t (a int) ON COMMIT PRESERVE ROWS', 'temporary object'],
  ['create global temporary table t (a int)', 'temporary object'],
  ['CREATE LOCAL TEMP TABLE t AS SELECT 1', 'temporary object'],
  ['CREATE TEMP VIEW v AS SELECT 1', 'temporary object'],
  ['create or replace temp view v as select 1', 'temporary object'],
  ['CREATE TEMP SEQUENCE s', 'temporary object'],
  ['CREATE TABLE pg_temp.t (a int)', 'temporary object'],
  ['create function pg_temp.f() returns int language sql as $$ select 1 $$', 'temporary object'],
  ['SELECT * INTO TEMP t FROM person', 'temporary object'],
  ['select 1 as a into temporary table t', 'temporary object'],
  ["LOAD 'auto_explain'", 'LOAD'],
  ['DISCARD ALL', 'DISCARD'],
  ['discard temp', 'DISCARD'],
  ["DO $$ BEGIN PERFORM set_config('a.b', 'c', false); END $$", 'set_config(…, false)'],
  ['DO $$ BEGIN SET search_path = app; END $$', 'SET'],
  ["DO LANGUAGE plpgsql 'BEGIN IF true THEN PERFORM pg_advisory_lock(1); END IF; END'", 'session advisory lock'],
  ["do $f$ begin execute 'set search_path = x'; end $f$", 'SET'],
  ['do $$ declare n int; begin create temp table t (a int); end $$', 'temporary object'],
  // Issue 17: spellings the server reads that a text match missed.
  ['create table "pg_temp"."x" (a int)', 'temporary object'],
  ['select "pg_advisory_lock"(1)', 'session advisory lock'],
  [String.raw`select U&"pg\005fadvisory\005flock"(1)`, 'session advisory lock'],
  [String.raw`select U&"pg!005fadvisory!005flock" UESCAPE '!' (1)`, 'session advisory lock'],
  ['select pg_advisory_lock /*c*/ (1)', 'session advisory lock'],
  ['CREATE /*c*/ TEMP TABLE x (a int)', 'temporary object'],
  ["select set_config /*c*/ ('a.b', 'c', false)", 'set_config(…, false)'],
  ["select set_config('search_path', 'x', t) from (select true as t) s", 'set_config(…, false)'],
  ['SELECT 1 AS a INTO pg_temp.x', 'temporary object'],
  ['select 1 as a into "pg_temp"."x"', 'temporary object'],
  ['EXPLAIN ANALYZE CREATE TEMP TABLE x AS SELECT 1', 'temporary object'],
  ['explain (analyze, verbose) select pg_advisory_lock(1)', 'session advisory lock'],
  ["DO LANGUAGE 'plpgsql' $$ BEGIN PERFORM pg_advisory_lock(1); END $$", 'session advisory lock'],
  ['DO $q$ BEGIN SET search_path = x; END $q$ LANGUAGE plpgsql', 'SET'],
  ['SET LOCAL search_path = pg_temp', 'temporary object'],
  ['set local search_path to "pg_temp", public', 'temporary object'],
  ["select set_config('search_path', 'pg_temp', true)", 'temporary object'],
  ["select set_config('search_path', $1, true)", 'temporary object'],
  ['select * from pg_catalog.set_config($1, $2, false)', 'set_config(…, false)'],
  ["update pg_catalog.pg_settings set setting = '1' where name = 'statement_timeout'", 'SET'],
  ["do $$ begin execute format('set %I = 1', 'search_path'); end $$", 'dynamic SQL'],
  ["do $$ begin execute 'set ' || 'x = 1'; end $$", 'dynamic SQL'],
  ["DO LANGUAGE plperl 'spi_exec_query(q{SET x = 1})'", 'dynamic SQL'],
]

/** Allowed: transaction-scoped, or no session state at all. */
const ALLOWED: readonly string[] = [
  'SELECT 1',
  'SET LOCAL search_path = app',
  'set local statement_timeout = 100',
  'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
  'SET CONSTRAINTS ALL DEFERRED',
  "SELECT set_config('a.b', 'c', true)",
  "select set_config('a.b', 'c', 'true')",
  "select set_config('a.b', 'c', TRUE)",
  'SELECT pg_advisory_xact_lock(42)',
  'select pg_try_advisory_xact_lock(42)',
  'DECLARE c CURSOR FOR SELECT 1',
  'declare c cursor without hold for select 1',
  'CREATE TEMP TABLE t (a int) ON COMMIT DROP',
  'create temporary table t on commit drop as select 1',
  'CREATE TABLE pg_temp.t (a int) ON COMMIT DROP',
  "PREPARE TRANSACTION 'tx1'",
  "COMMIT PREPARED 'tx1'",
  'NOTIFY jobs',
  "select pg_notify('jobs', 'x')",
  'BEGIN; SET LOCAL x.y = 1; COMMIT',
  // Keywords inside literals, comments and identifiers do not count.
  "SELECT 'SET search_path = x; select pg_advisory_lock(1)'",
  "select E'\\'; set x = 1'",
  'select 1 -- ; set x = 1',
  'select 1 /* ; set x = 1 */',
  'select $$ ; set x = 1 $$',
  'select $tag$ ; LISTEN x $tag$',
  'select "set_config"',
  "select my_set_config('a', 'b', false), pg_advisory_lock_count",
  // SET that is not a statement start.
  "UPDATE person SET name = 'x'",
  'update person set age = 1 where id = 2; select 1',
  'ALTER ROLE app SET search_path = app',
  "ALTER DATABASE app SET timezone = 'UTC'",
  "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = app AS $$ select set_config('a','b',false)::int $$",
  'INSERT INTO temp (a) VALUES (1)',
  'insert into temp select 1',
  'SELECT temp FROM readings',
  'CREATE TABLE temperature (a int)',
  'create table temp (a int)',
  // A DO block that only does transaction-scoped things.
  "DO $$ BEGIN PERFORM set_config('a.b', 'c', true); PERFORM pg_advisory_xact_lock(1); END $$",
  'do $$ declare n int; begin select count(*) into temp from t; end $$',
  "do $$ begin execute 'select 1'; end $$",
  "SELECT set_config('a.b', 'c', ' TRUE ')",
  'SET LOCAL search_path = app, public',
  "select set_config('search_path', 'tenant_1, public', true)",
  'CALL my_procedure()',
  '',
  '   ;  ; -- nothing\n',
]

describe('findSessionState', () => {
  it.each(REFUSED)('refuses %j as %s', (sql, kind) => {
    expect(kindOf(sql)).toBe(kind)
  })

  it.each(ALLOWED.map((sql) => [sql]))('allows %j', (sql) => {
    expect(findSessionState(sql)).toBeUndefined()
  })

  it('reports the first offending statement of several, with literals elided', () => {
    const found = findSessionState("select 1; SET search_path = 'secret_schema'; LISTEN x")
    expect(found).toEqual({ kind: 'SET', excerpt: "set search_path = '…'", inDoBlock: false })
  })

  it('says when the statement was found inside a DO block', () => {
    expect(findSessionState('DO $$ BEGIN LISTEN x; END $$')).toMatchObject({ kind: 'LISTEN', inDoBlock: true })
  })

  it('never puts a literal (a password, say) into the excerpt', () => {
    const found = findSessionState("SELECT set_config('app.password', 'hunter2-Secret', false)")
    expect(found?.excerpt).not.toContain('hunter2')
    expect(found?.excerpt).toBe("select set_config('…', '…', false)")
  })

  it('bounds the excerpt', () => {
    const found = findSessionState(`SET search_path = ${Array.from({ length: 60 }, (_, i) => `s${i}`).join(', ')}`)
    expect(found?.excerpt.length).toBeLessThanOrEqual(80)
    expect(found?.excerpt.endsWith('…')).toBe(true)
  })

  it('has a safe alternative for every kind, naming the transaction-scoped form where there is one', () => {
    expect(SAFE_ALTERNATIVES.SET).toContain('SET LOCAL')
    expect(SAFE_ALTERNATIVES['set_config(…, false)']).toContain('set_config(name, value, true)')
    expect(SAFE_ALTERNATIVES['session advisory lock']).toContain('pg_advisory_xact_lock')
    expect(SAFE_ALTERNATIVES['temporary object']).toContain('ON COMMIT DROP')
    expect(SAFE_ALTERNATIVES['DECLARE … WITH HOLD']).toContain('without WITH HOLD')
  })
})
