import { PoolTimeoutError } from 'kysely-pooled'
import { testDatabases } from '@kysely-pooled/core/testing'
import { Kysely, type DatabaseConnection, type Generated } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createTestSchema, pooledDialect, type PooledDialectOptions, type TestSchema } from './helpers.js'

/*
 * Every way Kysely's ControlledTransaction can lose its connection — BEGIN,
 * COMMIT or ROLLBACK throwing, or the object dropped — with the pool's
 * default options (nothing about leaks or lease limits set): the connection
 * comes back clean, and a dropped one is named by where it began.
 */

interface DB {
  ct_note: { id: Generated<number>; body: string }
}

/** Makes `command` fail on this connection as a lost network would, before it reaches the server. */
function failing(command: string) {
  return async (connection: DatabaseConnection): Promise<void> => {
    const executeQuery = connection.executeQuery.bind(connection)
    connection.executeQuery = async (query) => {
      if (query.sql === command) {
        throw new Error(`connection lost during ${command}`)
      }
      return await executeQuery(query)
    }
  }
}

describe.each(testDatabases())('controlled transactions with default pool options on $dialect', (database) => {
  let schema: TestSchema
  const open: Kysely<DB>[] = []

  function connect(options: PooledDialectOptions = {}) {
    // Only max 1 (so the next caller must get the very same connection back); every other option is the default.
    const dialect = pooledDialect(schema, { ...options, pool: { max: 1, ...options.pool } })
    const db = new Kysely<DB>({ dialect })
    open.push(db)
    return { db, pool: dialect.pool }
  }

  const visibleNotes = async (): Promise<string[]> => {
    const rows = await open[0]!.selectFrom('ct_note').select('body').orderBy('body').execute()
    return rows.map((row) => row.body)
  }

  beforeAll(async () => {
    schema = await createTestSchema(database, 'controlled')
    const { db } = connect()
    await db.schema
      .createTable('ct_note')
      .addColumn('id', 'integer', (col) =>
        (database.dialect === 'postgres' ? col.generatedAlwaysAsIdentity() : col.autoIncrement()).primaryKey(),
      )
      .addColumn('body', 'varchar(64)', (col) => col.notNull())
      .execute()
  })

  beforeEach(async () => {
    await open[0]!.deleteFrom('ct_note').execute()
  })

  afterAll(async () => {
    await Promise.all(open.map((db) => db.destroy()))
    await schema?.drop()
  })

  it('BEGIN throwing: Kysely releases, the connection serves the next caller outside any transaction', async () => {
    const { db, pool } = connect()
    // Not a valid isolation level for either server: BEGIN fails.
    await expect(db.startTransaction().setIsolationLevel('snapshot').execute()).rejects.toThrow()
    await expect.poll(() => pool.stats().used).toBe(0)
    await db.insertInto('ct_note').values({ body: 'after failed begin' }).execute()
    expect(await visibleNotes()).toEqual(['after failed begin'])
    expect(pool.stats().created).toBe(1)
  })

  it('COMMIT throwing: the connection comes back at once, rolled back, and the dropped transaction holds nothing', async () => {
    const { db, pool } = connect({ onReserveConnection: failing('commit') })
    const trx = await db.startTransaction().execute()
    await trx.insertInto('ct_note').values({ body: 'never committed' }).execute()
    await expect(trx.commit().execute()).rejects.toThrow('connection lost during commit')
    // Kysely keeps the connection here (kysely#1990); the driver gave it back.
    expect(pool.stats().used).toBe(0)
    expect(pool.stats().rolledBackOnRelease).toBe(1)
    expect(await visibleNotes()).toEqual([])
    // The application's rollback after the failed commit is harmless.
    await trx.rollback().execute()
    expect(pool.stats()).toMatchObject({ used: 0, created: 1, destroyed: 0 })
  })

  it('COMMIT throwing inside db.transaction(): the caller sees the error, the connection is clean', async () => {
    const { db, pool } = connect({ onReserveConnection: failing('commit') })
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('ct_note').values({ body: 'never committed' }).execute()
      }),
    ).rejects.toThrow('connection lost during commit')
    expect(pool.stats().used).toBe(0)
    expect(await visibleNotes()).toEqual([])
  })

  it('ROLLBACK throwing: Kysely releases, the connection is closed, never reused, and its rows are gone', async () => {
    const { db, pool } = connect({ onReserveConnection: failing('rollback') })
    const trx = await db.startTransaction().execute()
    await trx.insertInto('ct_note').values({ body: 'rolled back by close' }).execute()
    await expect(trx.rollback().execute()).rejects.toThrow('connection lost during rollback')
    await expect.poll(() => pool.stats().used).toBe(0)
    expect(pool.stats().destroyed).toBe(1)
    expect(await visibleNotes()).toEqual([])
    await db.insertInto('ct_note').values({ body: 'next caller' }).execute()
    expect(await visibleNotes()).toEqual(['next caller'])
  })

  it('dropped: the timeout of the next caller names where the transaction began (leak detection is on by default)', async () => {
    const { db, pool } = connect({ destroyGraceMillis: 0, pool: { acquireTimeoutMillis: 200 } })
    await beginAndForget(db)
    const holder = pool.holders()[0]
    expect(holder?.acquiredAt).toContain('controlled-transaction.test.ts')
    const error = await db
      .selectFrom('ct_note')
      .selectAll()
      .execute()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PoolTimeoutError)
    expect((error as PoolTimeoutError).message).toMatch(/acquired at .*controlled-transaction\.test\.ts/)
    expect(pool.config.leakDetectionMillis).toBe(60_000)
    // destroy() revokes it: the transaction is rolled back on the server.
    await db.destroy()
    expect(pool.stats().revoked).toBe(1)
    expect(await visibleNotes()).toEqual([])
  })
})

/** An application function that starts a transaction and walks away from it. */
async function beginAndForget(db: Kysely<DB>): Promise<void> {
  const trx = await db.startTransaction().execute()
  await trx.insertInto('ct_note').values({ body: 'forgotten' }).execute()
}
