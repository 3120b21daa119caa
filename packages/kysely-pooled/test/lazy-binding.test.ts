import { testDatabases } from '@kysely-pooled/core/testing'
import { Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestSchema, pooledDialect, type TestSchema } from './helpers.js'

/*
 * Lazy binding: the handle Kysely acquires holds no pool connection until
 * its first statement; from then on (bound) it is an exclusive connection,
 * released when Kysely releases the handle.
 */

interface DB {
  lazy_item: { id: number }
}

describe.each(testDatabases())('lazy binding on $dialect', (database) => {
  let schema: TestSchema
  let dialect: ReturnType<typeof pooledDialect>
  let db: Kysely<DB>

  beforeAll(async () => {
    schema = await createTestSchema(database, 'lazy')
    dialect = pooledDialect(schema, { pool: { max: 2 } })
    db = new Kysely<DB>({ dialect })
    await db.schema.createTable('lazy_item').addColumn('id', 'integer').execute()
  })

  afterAll(async () => {
    await db?.destroy()
    await schema?.drop()
  })

  it('holds no connection until the first statement, then one until release', async () => {
    const seen = await db.connection().execute(async (conn) => {
      const before = dialect.pool.stats().used
      const session = await sql<{ s: string }>`select ${sql.raw(
        database.dialect === 'postgres' ? 'pg_backend_pid()' : 'connection_id()',
      )} as s`.execute(conn)
      const during = dialect.pool.stats().used
      const again = await sql<{ s: string }>`select ${sql.raw(
        database.dialect === 'postgres' ? 'pg_backend_pid()' : 'connection_id()',
      )} as s`.execute(conn)
      return { before, during, first: session.rows[0]?.s, second: again.rows[0]?.s }
    })
    expect(seen.before).toBe(0)
    expect(seen.during).toBe(1)
    // Bound: the second statement runs in the first one's session.
    expect(seen.second).toBe(seen.first)
    await expect.poll(() => dialect.pool.stats().used).toBe(0)
  })

  it('binds before a transaction begins and keeps the connection to its end', async () => {
    await db
      .transaction()
      .execute(async (trx) => {
        expect(dialect.pool.stats().used).toBe(1)
        await trx.insertInto('lazy_item').values({ id: 1 }).execute()
        throw new Error('roll it back')
      })
      .catch(() => undefined)
    const rows = await db.selectFrom('lazy_item').selectAll().execute()
    expect(rows).toEqual([])
    await expect.poll(() => dialect.pool.stats().used).toBe(0)
  })

  it('a handle used after its release throws and touches no connection', async () => {
    let kept: Kysely<DB> | undefined
    await db.connection().execute(async (conn) => {
      kept = conn
    })
    await expect(sql`select 1`.execute(kept!)).rejects.toMatchObject({ code: 'LEASE_RELEASED' })
    expect(dialect.pool.stats().used).toBe(0)
  })
})
