import { testDatabases } from '@kysely-pooled/core/testing'
import { CompiledQuery, Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { abortSupported, createTestSchema, pipelineVariant, pooledDialect, type TestSchema } from './helpers.js'

/*
 * Kysely 0.29's abort signals. The pool is exhausted (max 1) in each case: the
 * side channel that cancels or kills needs no pool slot, where the stock
 * drivers fall back to queueing for a pool connection.
 */

// Long enough that only a working cancel lets the next query through in time.
const LONG_SLEEP_SECONDS = 30

describe.each(testDatabases())('abort signals on $dialect', (database) => {
  let schema: TestSchema
  let db: Kysely<Record<string, never>>
  let dialect: ReturnType<typeof pooledDialect>
  // With pipeline: true a lone statement is shared and never cancelled (see
  // pipeline.test.ts); a two-statement text binds, and the strategies apply.
  const sleep = CompiledQuery.raw(
    database.dialect === 'postgres'
      ? `select pg_sleep(${LONG_SLEEP_SECONDS})${pipelineVariant ? '; select 1' : ''}`
      : `select sleep(${LONG_SLEEP_SECONDS})`,
  )

  beforeAll(async () => {
    schema = await createTestSchema(database, 'abort')
    dialect = pooledDialect(schema, { pool: { max: 1, acquireTimeoutMillis: 5_000 } })
    db = new Kysely({ dialect })
  })

  afterAll(async () => {
    await db?.destroy()
    await schema?.drop()
  })

  if (!abortSupported) {
    it('works without abort options on kysely 0.28', async () => {
      const { rows } = await db.executeQuery<{ one: number }>(CompiledQuery.raw('select 1 as one'))
      expect(rows).toEqual([{ one: 1 }])
      await expect.poll(() => dialect.pool.stats().used).toBe(0)
    })
    return
  }

  it('takes an aborted acquire out of the queue', async () => {
    const holder = await db.startTransaction().execute()
    const controller = new AbortController()
    const queued = db.executeQuery(CompiledQuery.raw('select 1'), { signal: controller.signal })
    await expect.poll(() => dialect.pool.stats().pending).toBe(1)
    controller.abort(new Error('caller gave up'))
    await expect(queued).rejects.toThrow('caller gave up')
    await expect.poll(() => dialect.pool.stats().pending).toBe(0)
    await holder.rollback().execute()
    expect((await db.executeQuery<{ one: number }>(CompiledQuery.raw('select 1 as one'))).rows).toEqual([{ one: 1 }])
  })

  it("cancels the running query with 'cancel query' while the pool is exhausted", async () => {
    const controller = new AbortController()
    const running = db.executeQuery(sleep, { signal: controller.signal, inflightQueryAbortStrategy: 'cancel query' })
    await expect.poll(() => dialect.pool.stats().used).toBe(1)
    // Let the statement reach the server before cancelling it.
    await new Promise((resolve) => setTimeout(resolve, 200))
    const destroyedBefore = dialect.pool.stats().destroyed
    controller.abort(new Error('request cancelled'))
    await expect(running).rejects.toThrow('request cancelled')

    // The one connection comes back (well before the sleep would end) and is reused, not replaced.
    const { rows } = await db.executeQuery<{ one: number }>(CompiledQuery.raw('select 1 as one'))
    expect(rows).toEqual([{ one: 1 }])
    expect(dialect.pool.stats().destroyed).toBe(destroyedBefore)
    expect(await sleepersOnServer(db, database.dialect)).toBe(0)
  })

  it("ends the session with 'kill session'; the pool replaces the connection", async () => {
    const controller = new AbortController()
    const running = db.executeQuery(sleep, { signal: controller.signal, inflightQueryAbortStrategy: 'kill session' })
    await expect.poll(() => dialect.pool.stats().used).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const destroyedBefore = dialect.pool.stats().destroyed
    controller.abort(new Error('request killed'))
    await expect(running).rejects.toThrow('request killed')

    const { rows } = await db.executeQuery<{ one: number }>(CompiledQuery.raw('select 1 as one'))
    expect(rows).toEqual([{ one: 1 }])
    expect(dialect.pool.stats().destroyed).toBe(destroyedBefore + 1)
    expect(await sleepersOnServer(db, database.dialect)).toBe(0)
  })
})

/** Statements of ours (this database's) still sleeping on the server: there must be none after a cancel. */
async function sleepersOnServer(db: Kysely<Record<string, never>>, dialect: string): Promise<number> {
  const query =
    dialect === 'postgres'
      ? sql<{
          n: string
        }>`select count(*) as n from pg_stat_activity where query like ${`%pg_sleep(${LONG_SLEEP_SECONDS})%`} and pid <> pg_backend_pid() and datname = current_database()`
      : sql<{
          n: string
        }>`select count(*) as n from information_schema.processlist where info like ${`%sleep(${LONG_SLEEP_SECONDS})%`} and id <> connection_id() and db = database()`
  return Number((await query.execute(db)).rows[0]!.n)
}
