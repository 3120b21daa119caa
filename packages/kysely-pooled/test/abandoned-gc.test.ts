import { testDatabases } from '@kysely-pooled/core/testing'
import { CompiledQuery, Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestSchema, pooledDialect, type TestSchema } from './helpers.js'

/*
 * A controlled transaction whose object the app drops without commit or
 * rollback: once it is garbage-collected, the pool reclaims the connection.
 * Needs `--expose-gc` (vitest.project.ts passes it to the workers).
 */

const gc = (globalThis as { gc?: () => void }).gc

describe.each(testDatabases())('a garbage-collected controlled transaction on $dialect', (database) => {
  let schema: TestSchema
  let db: Kysely<Record<string, never>>
  let dialect: ReturnType<typeof pooledDialect>

  beforeAll(async () => {
    schema = await createTestSchema(database, 'gc')
    dialect = pooledDialect(schema, { pool: { max: 1, acquireTimeoutMillis: 10_000 } })
    db = new Kysely({ dialect })
  })

  afterAll(async () => {
    await db?.destroy()
    await schema?.drop()
  })

  it('is reclaimed, and the next caller gets the connection', async () => {
    expect(gc, 'run with --expose-gc').toBeTypeOf('function')

    // In its own function so that no local of this frame keeps it alive.
    await (async () => {
      const trx = await db.startTransaction().execute()
      await trx.executeQuery(CompiledQuery.raw('select 1'))
    })()
    expect(dialect.pool.stats().used).toBe(1)

    for (let round = 0; round < 100 && dialect.pool.stats().reclaimed === 0; round++) {
      gc!()
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(dialect.pool.stats().reclaimed).toBe(1)

    const { rows } = await db.executeQuery<{ one: number }>(CompiledQuery.raw('select 1 as one'))
    expect(rows).toEqual([{ one: 1 }])
  })
})
