import { LeaseRevokedError } from 'kysely-pooled'
import { assertAvailable, testTargets } from '@kysely-pooled/core/testing'
import { CompiledQuery, Kysely, sql, type DatabaseConnection, type Generated } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createTestSchema, pooledDialect, type PooledDialectOptions, type TestSchema } from './helpers.js'

/*
 * Every way an app (or Kysely itself) can walk away from an open transaction.
 * Each ends with the rows rolled back and the pool's connection usable.
 */

interface DB {
  note: { id: Generated<number>; body: string }
}

// Also through PgBouncer in transaction mode: the transaction status passes through it.
describe.each(testTargets())('abandoned transactions on $target', (database) => {
  let schema: TestSchema
  const open: Kysely<DB>[] = []

  function connect(options: PooledDialectOptions = {}) {
    const dialect = pooledDialect(schema, {
      ...options,
      pool: { max: 1, acquireTimeoutMillis: 5_000, ...options.pool },
    })
    const db = new Kysely<DB>({ dialect })
    open.push(db)
    return { db, pool: dialect.pool }
  }

  const visibleNotes = async (): Promise<string[]> => {
    const { db } = connect({ pool: { max: 1 } })
    const rows = await db.selectFrom('note').select('body').orderBy('body').execute()
    return rows.map((row) => row.body)
  }

  beforeAll(async () => {
    assertAvailable(database)
    schema = await createTestSchema(database, 'abandoned')
    const { db } = connect()
    await db.schema
      .createTable('note')
      .addColumn('id', 'integer', (col) =>
        (database.dialect === 'postgres' ? col.generatedAlwaysAsIdentity() : col.autoIncrement()).primaryKey(),
      )
      .addColumn('body', 'varchar(64)', (col) => col.notNull())
      .execute()
  })

  beforeEach(async () => {
    await open[0]!.deleteFrom('note').execute()
  })

  afterAll(async () => {
    await Promise.all(open.map((db) => db.destroy()))
    await schema?.drop()
  })

  it('rolls back a transaction left open when db.connection() ends', async () => {
    const { db, pool } = connect()
    await db.connection().execute(async (conn) => {
      await sql`begin`.execute(conn)
      await conn.insertInto('note').values({ body: 'left open' }).execute()
    })
    expect(pool.stats().rolledBackOnRelease).toBe(1)
    expect(await visibleNotes()).toEqual([])
    // The same (only) connection serves the next borrower, outside any transaction.
    await db.insertInto('note').values({ body: 'next borrower' }).execute()
    expect(await visibleNotes()).toEqual(['next borrower'])
  })

  it('cleans a failed transaction on release, so the next borrower (max 1) works', async () => {
    const { db, pool } = connect()
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('note').values({ body: 'doomed' }).execute()
        await sql`select * from no_such_table`.execute(trx)
      }),
    ).rejects.toThrow()
    await db.insertInto('note').values({ body: 'after failure' }).execute()
    expect(await visibleNotes()).toEqual(['after failure'])
    expect(pool.stats().used).toBe(0)
  })

  it('reports and then revokes a controlled transaction never committed nor rolled back', async () => {
    const { db, pool } = connect({ pool: { leakDetectionMillis: 100, maxLeaseMillis: 400 } })
    const leaks: number[] = []
    const revokes: string[] = []
    pool.on('leak', ({ heldMillis }) => leaks.push(heldMillis))
    pool.on('revoke', ({ reason }) => revokes.push(reason))

    const trx = await db.startTransaction().execute()
    await trx.insertInto('note').values({ body: 'forgotten' }).execute()
    // With max 1 this query waits for the forgotten transaction's connection,
    // and gets it once the pool revokes that lease.
    await db.insertInto('note').values({ body: 'after revoke' }).execute()

    expect(leaks).toHaveLength(1)
    expect(revokes).toEqual(['max-lease'])
    expect(pool.stats().revoked).toBe(1)
    expect(await visibleNotes()).toEqual(['after revoke'])
    await expect(trx.selectFrom('note').selectAll().execute()).rejects.toBeInstanceOf(LeaseRevokedError)
    await expect(trx.commit().execute()).rejects.toBeInstanceOf(LeaseRevokedError)
  })

  it("gets back the connection Kysely keeps when a controlled transaction's commit throws (kysely#1990)", async () => {
    // Make COMMIT fail as a network error would. Kysely then keeps the
    // transaction 'active' and never releases its connection; the driver
    // gives it back itself.
    const failCommit = async (connection: DatabaseConnection): Promise<void> => {
      const executeQuery = connection.executeQuery.bind(connection)
      connection.executeQuery = async (query) => {
        if (query.sql === 'commit') {
          throw new Error('connection lost during commit')
        }
        return await executeQuery(query)
      }
    }
    const { db, pool } = connect({ onReserveConnection: failCommit, pool: { maxLeaseMillis: 400 } })
    const trx = await db.startTransaction().execute()
    await trx.insertInto('note').values({ body: 'never committed' }).execute()
    await expect(trx.commit().execute()).rejects.toThrow('connection lost during commit')
    expect(pool.stats().used).toBe(0)

    // The only connection serves the next caller, rolled back, with no revocation needed.
    const { rows } = await db.executeQuery<{ one: number }>(CompiledQuery.raw('select 1 as one'))
    expect(rows).toEqual([{ one: 1 }])
    expect(pool.stats()).toMatchObject({ revoked: 0, rolledBackOnRelease: 1 })
    expect(await visibleNotes()).toEqual([])
  })

  it('gets the connection back after a failed begin, usable', async () => {
    const { db, pool } = connect()
    await expect(
      // Not a valid isolation level for the server: BEGIN fails.
      db.startTransaction().setIsolationLevel('snapshot').execute(),
    ).rejects.toThrow()
    // Kysely releases after a failed begin (since 0.28), in the background.
    await expect.poll(() => pool.stats().used).toBe(0)
    await db.insertInto('note').values({ body: 'after failed begin' }).execute()
    expect(await visibleNotes()).toEqual(['after failed begin'])
  })

  it('db.destroy() with a transaction open finishes within the grace period and rolls it back', async () => {
    const { db, pool } = connect({ destroyGraceMillis: 200 })
    const trx = await db.startTransaction().execute()
    await trx.insertInto('note').values({ body: 'open at destroy' }).execute()
    await db.destroy()
    expect(pool.closed).toBe(true)
    expect(pool.stats().revoked).toBe(1)
    expect(await visibleNotes()).toEqual([])
    await expect(trx.selectFrom('note').selectAll().execute()).rejects.toBeInstanceOf(LeaseRevokedError)
  })
})
