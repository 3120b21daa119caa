import { describe, expect, test } from 'vitest'
import { isPlainRead } from '../../src/routing/plain-read.js'

// What a replica may answer. The replica itself is the judge in
// kysely-pooled's replica suite (every text here classified as a read runs
// there without SQLSTATE 25006 / error 1290); this is the rule's table.
const READS = [
  'select 1',
  'select "id", "name" from "person" where "id" = $1',
  'select `id` from `person` where `id` = ?',
  'with recent as (select * from "pet" order by "id" desc limit 3) select * from recent',
  'values (1), (2)',
  'select count(*) from person -- trailing comment',
  "select 'for update' as text",
  'select now(), random()',
  'select @@port as port',
]

const NOT_READS = [
  'insert into person (name) values ($1)',
  'update person set name = $1',
  'delete from person',
  'with gone as (delete from pet returning id) select * from gone',
  'with added as (insert into pet (name) values ($1) returning id) select * from added',
  'select * from person for update',
  'select * from person for no key update',
  'select * from person for share',
  'select * from person lock in share mode',
  "select nextval('seq')",
  'select "nextval"(\'seq\')',
  "select setval('seq', 1)",
  'select lastval()',
  'select pg_advisory_lock(1)',
  'select pg_try_advisory_xact_lock(1)',
  "select get_lock('x', 1)",
  'select last_insert_id()',
  'select * into backup from person',
  "select set_config('search_path', 'x', false)",
  'select 1; select 2',
  'begin',
  'start transaction',
  'set search_path = x',
  'show search_path',
  'explain analyze delete from person',
  'lock table person',
  'listen channel',
  '',
  '   ',
]

describe('isPlainRead', () => {
  test.each(READS)('a plain read: %s', (sql) => {
    expect(isPlainRead(sql, 'postgres')).toBe(true)
    expect(isPlainRead(sql, 'mysql')).toBe(true)
  })

  test.each(NOT_READS)('not provably a plain read: %s', (sql) => {
    expect(isPlainRead(sql, 'postgres')).toBe(false)
    expect(isPlainRead(sql, 'mysql')).toBe(false)
  })

  test('MySQL-only session or escape hazards are not reads on MySQL', () => {
    expect(isPlainRead('select @n := @n + 1 from person', 'mysql')).toBe(false)
    expect(isPlainRead("select 'it\\'s' as t, 1 as for_real", 'mysql')).toBe(false)
    // `#` starts a comment on MySQL: what follows the line break is still read
    expect(isPlainRead('select 1 # comment\nfor update', 'mysql')).toBe(false)
    expect(isPlainRead('select 1 # for update', 'mysql')).toBe(true)
    // the same text may be a read on PostgreSQL: each dialect has its own answer
    expect(isPlainRead('select 1 # 2', 'postgres')).toBe(true)
  })
})
