import { pgbouncerTarget, testDatabase } from '@kysely-pooled/core/testing'
import { Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestSchema, pooledDialect, type TestSchema } from './helpers.js'

/*
 * Issue 17, through Kysely's own compiler: `db.schema.createTable('pg_temp.x')`
 * compiles to `create table "pg_temp"."x"`, which a text match missed.
 */
describe.each([
  ['PostgreSQL', testDatabase('postgres'), 'reset'],
  ['PostgreSQL through PgBouncer', pgbouncerTarget(), 'refuse'],
] as const)("Kysely's createTable('pg_temp.…') on %s", (_name, target, expected) => {
  let schema: TestSchema
  let db: Kysely<object>

  beforeAll(async () => {
    schema = await createTestSchema(target, 'sniff')
    db = new Kysely<object>({ dialect: pooledDialect(schema, { pool: { max: 1, reset: 'auto' } }) })
  })

  afterAll(async () => {
    await db?.destroy()
    await schema?.drop()
  })

  it(expected === 'reset' ? 'is reset at release: the next borrower has no temp table' : 'is refused', async () => {
    const create = db.schema.createTable('pg_temp.kp_sniff_tmp').addColumn('a', 'integer')
    expect(create.compile().sql).toBe('create table "pg_temp"."kp_sniff_tmp" ("a" integer)')
    if (expected === 'refuse') {
      await expect(create.execute()).rejects.toMatchObject({ code: 'POOL_SESSION_STATE', kind: 'temporary object' })
      return
    }
    const pid = await db.connection().execute(async (conn) => {
      await conn.schema.createTable('pg_temp.kp_sniff_tmp').addColumn('a', 'integer').execute()
      return (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn)).rows[0]!.pid
    })
    const after = (
      await sql<{
        pid: number
        gone: boolean
      }>`select pg_backend_pid() as pid, to_regclass('pg_temp.kp_sniff_tmp') is null as gone`.execute(db)
    ).rows[0]
    expect(after).toEqual({ pid, gone: true })
  })
})
