import { describe, expect, it } from 'vitest'
import { MYSQL_SESSION_CHANGE, POSTGRES_SESSION_CHANGE } from '../../src/connector/session-change-detector.js'
import { findSessionState } from '../../src/pooler/session-state-classifier.js'

/*
 * Still free when clean (issue 17): statements that leave nothing behind —
 * what Kysely compiles for a typed app, and the transaction-scoped forms —
 * must cost no reset (sniff) and no refusal (guard). The false-positive rate
 * is reported and held at zero on this corpus.
 */

/** Kysely's compiled SQL for a typed app (person / pet / toy), PostgreSQL dialect. */
const KYSELY_POSTGRES = [
  'select "id", "first_name", "last_name" from "person" where "id" = $1',
  'select * from "person" where "first_name" like $1 order by "last_name" desc limit $2 offset $3',
  'select "person"."id", "pet"."name" as "pet_name" from "person" inner join "pet" on "pet"."owner_id" = "person"."id" where "person"."first_name" = $1',
  'select "person".* from "person" left join "pet" on "pet"."owner_id" = "person"."id" where "pet"."id" is null',
  'insert into "person" ("first_name", "last_name", "gender") values ($1, $2, $3) returning "id"',
  'insert into "pet" ("name", "owner_id", "species") values ($1, $2, $3), ($4, $5, $6) returning *',
  'insert into "person" ("id", "first_name") values ($1, $2) on conflict ("id") do update set "first_name" = excluded."first_name"',
  'insert into "person" ("first_name") values ($1) on conflict do nothing',
  'update "person" set "last_name" = $1, "updated_at" = now() where "id" = $2',
  'update "pet" set "owner_id" = $1 from "person" where "person"."id" = "pet"."owner_id" and "person"."first_name" = $2',
  'delete from "pet" where "owner_id" = $1 returning "id"',
  'select count("id") as "count" from "pet" where "species" in ($1, $2)',
  'with "adults" as (select "id" from "person" where "age" >= $1) select * from "pet" where "owner_id" in (select "id" from "adults")',
  'with recursive "tree" as (select "id", "parent_id" from "node" where "id" = $1 union all select "node"."id", "node"."parent_id" from "node" inner join "tree" on "tree"."id" = "node"."parent_id") select * from "tree"',
  'select "person"."id", (select coalesce(json_agg(agg), \'[]\') from (select "pet"."name" from "pet" where "pet"."owner_id" = "person"."id") as agg) as "pets" from "person"',
  'select * from "person" where exists (select 1 from "pet" where "pet"."owner_id" = "person"."id") for update skip locked',
  'select "settings"."value" from "settings" where "settings"."key" = $1',
  'select "temperature", "reset_at", "set_by", "holder", "execute_at" from "readings"',
  'select "id" from "person" where "first_name" ilike $1 || \'%\'',
  'merge into "person" as "p" using "incoming" as "i" on "p"."id" = "i"."id" when matched then update set "first_name" = "i"."first_name" when not matched then insert ("id") values ("i"."id")',
  'create table "kp_benign" ("id" serial primary key, "name" varchar(255) not null)',
  'create index "kp_benign_name" on "kp_benign" ("name")',
  'alter table "kp_benign" add column "age" integer',
  'drop table if exists "kp_benign"',
  'begin',
  'commit',
  'rollback',
  'savepoint "sp1"',
  'release savepoint "sp1"',
  'start transaction isolation level serializable',
  'select 1',
]

/** Transaction-scoped forms: they end with the transaction (outside one, with the statement). */
const TRANSACTION_SCOPED_POSTGRES = [
  'SET LOCAL statement_timeout = 1000',
  'SET LOCAL search_path = app, public',
  "SET LOCAL app.tenant = 'acme'",
  'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ',
  'SET CONSTRAINTS ALL DEFERRED',
  "SELECT set_config('app.tenant', $1, true)",
  "select set_config('search_path', 'tenant_42', true)",
  "SELECT set_config('statement_timeout', '5s', 'on')",
  'SELECT pg_advisory_xact_lock(42)',
  'select pg_try_advisory_xact_lock($1)',
  'select pg_advisory_xact_lock_shared(1, 2)',
  'CREATE TEMP TABLE staging (a int) ON COMMIT DROP',
  'create temporary table staging on commit drop as select 1 as a',
  'DECLARE c CURSOR FOR SELECT 1',
  "PREPARE TRANSACTION 'tx1'",
  'NOTIFY jobs',
  "SELECT pg_notify('jobs', 'x')",
  'LOCK TABLE person IN SHARE MODE',
  'INSERT INTO temp (a) VALUES (1)',
]

const KYSELY_MYSQL = [
  'select `id`, `first_name`, `last_name` from `person` where `id` = ?',
  'select * from `person` where `first_name` like ? order by `last_name` desc limit ? offset ?',
  'select `person`.`id`, `pet`.`name` as `pet_name` from `person` inner join `pet` on `pet`.`owner_id` = `person`.`id` where `person`.`first_name` = ?',
  'insert into `person` (`first_name`, `last_name`, `gender`) values (?, ?, ?)',
  'insert into `person` (`id`, `first_name`) values (?, ?) on duplicate key update `first_name` = values(`first_name`)',
  'insert ignore into `pet` (`name`, `owner_id`) values (?, ?)',
  'replace into `toy` (`id`, `name`) values (?, ?)',
  'update `person` set `last_name` = ? where `id` = ?',
  'update `pet` inner join `person` on `person`.`id` = `pet`.`owner_id` set `pet`.`name` = ? where `person`.`id` = ?',
  'delete from `pet` where `owner_id` = ?',
  'select count(`id`) as `count` from `pet` where `species` in (?, ?)',
  'with `adults` as (select `id` from `person` where `age` >= ?) select * from `pet` where `owner_id` in (select `id` from `adults`)',
  'select * from `person` where `id` = ? for update',
  'select * from `person` where `id` = ? lock in share mode',
  'select `temperature`, `set_by`, `use_count`, `lock_id`, `handler` from `readings`',
  'select last_insert_id()',
  'select `email` from `users` where `email` = ?',
  'create table `kp_benign` (`id` integer primary key auto_increment, `name` varchar(255) not null)',
  'drop table if exists `kp_benign`',
  'begin',
  'start transaction',
  'start transaction read only',
  'commit',
  'rollback',
  'savepoint `sp1`',
  'select 1',
  "select json_object('a', `a`) from `t`",
  'SET STATEMENT max_statement_time = 5 FOR SELECT 1',
  'SELECT RELEASE_LOCK IS NULL FROM t',
]

function falsePositives(corpus: readonly string[], flags: (sql: string) => boolean): string[] {
  return corpus.filter(flags)
}

describe('benign corpus: the false-positive rate', () => {
  it(`PostgreSQL sniff (reset: 'auto'): 0 of ${KYSELY_POSTGRES.length + TRANSACTION_SCOPED_POSTGRES.length} flagged`, () => {
    const corpus = [...KYSELY_POSTGRES, ...TRANSACTION_SCOPED_POSTGRES]
    expect(falsePositives(corpus, (sql) => POSTGRES_SESSION_CHANGE.test(sql))).toEqual([])
  })

  it(`PostgreSQL guard (pooler: 'transaction'): 0 of ${KYSELY_POSTGRES.length + TRANSACTION_SCOPED_POSTGRES.length} refused`, () => {
    const corpus = [...KYSELY_POSTGRES, ...TRANSACTION_SCOPED_POSTGRES]
    expect(falsePositives(corpus, (sql) => findSessionState(sql) !== undefined)).toEqual([])
  })

  it(`MySQL/MariaDB sniff (reset: 'auto'): 0 of ${KYSELY_MYSQL.length} flagged`, () => {
    expect(falsePositives(KYSELY_MYSQL, (sql) => MYSQL_SESSION_CHANGE.test(sql))).toEqual([])
  })
})
