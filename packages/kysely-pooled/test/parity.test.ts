import { testDatabases } from '@kysely-pooled/core/testing'
import { Kysely, sql, type Generated } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestSchema, pooledDialect, stockDialect, type TestSchema } from './helpers.js'

/*
 * The same queries through Kysely's stock dialect (pg.Pool / mysql2 pool) and
 * ours must give deeply equal results: rows, numAffectedRows, numChangedRows,
 * insertId — for every kind of value a driver converts.
 */

interface ThingTable {
  id: Generated<number>
  label: string | null
  amount: string | number | bigint
  price: string | number
  created_at: Date | string
  payload: unknown
  flag: boolean | number
}

interface DB {
  thing: ThingTable
}

describe.each(testDatabases())('result parity with the stock dialect on $dialect', (database) => {
  let oursSchema: TestSchema
  let stockSchema: TestSchema
  let ours: Kysely<DB>
  let stock: Kysely<DB>
  const isPostgres = database.dialect === 'postgres'

  beforeAll(async () => {
    // Twin schemas with the same table: the same statements on each must give the same results.
    oursSchema = await createTestSchema(database, 'parity_ours')
    stockSchema = await createTestSchema(database, 'parity_stock')
    ours = new Kysely<DB>({ dialect: pooledDialect(oursSchema) })
    stock = new Kysely<DB>({ dialect: stockDialect(stockSchema) })
    await Promise.all(
      [ours, stock].map((db) =>
        db.schema
          .createTable('thing')
          .addColumn('id', 'integer', (col) =>
            (isPostgres ? col.generatedAlwaysAsIdentity() : col.autoIncrement()).primaryKey(),
          )
          .addColumn('label', 'varchar(64)', (col) => col.unique())
          .addColumn('amount', 'bigint', (col) => col.notNull())
          .addColumn('price', 'decimal(10, 2)', (col) => col.notNull())
          .addColumn('created_at', isPostgres ? 'timestamptz' : 'datetime', (col) => col.notNull())
          .addColumn('payload', isPostgres ? 'jsonb' : 'json')
          .addColumn('flag', 'boolean', (col) => col.notNull())
          .execute(),
      ),
    )
  })

  afterAll(async () => {
    await ours?.destroy()
    await stock?.destroy()
    await oursSchema?.drop()
    await stockSchema?.drop()
  })

  async function both<T>(run: (db: Kysely<DB>) => Promise<T>): Promise<[T, T]> {
    return [await run(ours), await run(stock)]
  }

  it('gives the same results for inserts, selects, updates, upserts and deletes', async () => {
    const row = (label: string | null, n: number) => ({
      label,
      amount: 9007199254740993n.toString(),
      price: '12.50',
      created_at: new Date(Date.UTC(2024, 1, 29, 12, 30, n)),
      payload: JSON.stringify({ n, nested: { list: [1, 'two', null] } }),
      flag: n % 2 === 0,
    })

    const inserts = await both((db) =>
      db
        .insertInto('thing')
        .values([row('a', 1), row(null, 2)])
        .execute(),
    )
    expect(inserts[0]).toEqual(inserts[1])
    if (!isPostgres) {
      expect(inserts[0][0]!.insertId).toBe(1n)
    }

    const selects = await both((db) =>
      db
        .selectFrom('thing')
        .select(['amount', 'price', 'created_at', 'payload', 'flag'])
        .select((eb) => eb.fn.coalesce('label', sql.lit('none')).as('label'))
        .where((eb) => eb.or([eb('label', '=', 'a'), eb('label', 'is', null)]))
        .orderBy('id')
        .execute(),
    )
    expect(selects[0]).toEqual(selects[1])
    expect(selects[0]).toHaveLength(2)

    const updates = await both((db) =>
      db.updateTable('thing').set({ price: '99.99' }).where('label', 'in', ['a', 'nobody']).executeTakeFirstOrThrow(),
    )
    expect(updates[0]).toEqual(updates[1])
    expect(updates[0].numUpdatedRows).toBe(1n)

    // Same value again: matched but unchanged, which MySQL reports apart.
    const noops = await both((db) =>
      db.updateTable('thing').set({ price: '99.99' }).where('label', '=', 'a').executeTakeFirstOrThrow(),
    )
    expect(noops[0]).toEqual(noops[1])

    const upserts = await both((db) => {
      const insert = db.insertInto('thing').values(row('a', 3))
      return (
        isPostgres
          ? insert.onConflict((oc) => oc.column('label').doUpdateSet({ price: '1.00' }))
          : insert.onDuplicateKeyUpdate({ price: '1.00' })
      ).executeTakeFirstOrThrow()
    })
    expect(upserts[0]).toEqual(upserts[1])

    if (isPostgres) {
      const returned = await both((db) =>
        db
          .updateTable('thing')
          .set({ flag: true })
          .where('label', '=', 'a')
          .returning(['price', 'flag', 'payload'])
          .execute(),
      )
      expect(returned[0]).toEqual(returned[1])
    }

    const raw = await both((db) =>
      sql`select 1 + 1 as two, null as nothing, ${'text'} as text, cast(${123} as ${sql.raw(isPostgres ? 'bigint' : 'signed')}) as big`.execute(
        db,
      ),
    )
    expect(raw[0]).toEqual(raw[1])

    const deletes = await both((db) => db.deleteFrom('thing').where('label', '=', 'a').executeTakeFirstOrThrow())
    expect(deletes[0]).toEqual(deletes[1])
    expect(deletes[0].numDeletedRows).toBe(1n)
  })
})
