import { assertAvailable, testTargets } from '@kysely-pooled/core/testing'
import { CompiledQuery, Kysely, sql, type Generated, type Insertable, type KyselyPlugin } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createTestSchema, isPgBouncer, pooledDialect, type TestSchema } from './helpers.js'

/*
 * The suite users copy: one typed schema, every Kysely feature the app needs,
 * run unchanged on PostgreSQL, MySQL/MariaDB, and PostgreSQL through
 * PgBouncer in transaction mode (pooler: 'transaction').
 */

interface PersonTable {
  id: Generated<number>
  first_name: string
  last_name: string | null
  age: number
}

interface PetTable {
  id: Generated<number>
  name: string
  owner_id: number
}

interface DB {
  person: PersonTable
  pet: PetTable
}

const people: Insertable<PersonTable>[] = [
  { first_name: 'Ada', last_name: 'Lovelace', age: 36 },
  { first_name: 'Alan', last_name: 'Turing', age: 41 },
  { first_name: 'Grace', last_name: null, age: 85 },
]

describe.each(testTargets())('cross-database suite on $target', (database) => {
  let schema: TestSchema
  let db: Kysely<DB>
  let dialect: ReturnType<typeof pooledDialect>

  beforeAll(async () => {
    assertAvailable(database)
    schema = await createTestSchema(database, 'suite')
    dialect = pooledDialect(schema, { pool: { max: 3 } })
    db = new Kysely<DB>({ dialect })
    await db.schema
      .createTable('person')
      .addColumn('id', 'integer', (col) =>
        database.dialect === 'postgres'
          ? col.generatedAlwaysAsIdentity().primaryKey()
          : col.autoIncrement().primaryKey(),
      )
      .addColumn('first_name', 'varchar(255)', (col) => col.notNull())
      .addColumn('last_name', 'varchar(255)')
      .addColumn('age', 'integer', (col) => col.notNull())
      .execute()
    await db.schema
      .createTable('pet')
      .addColumn('id', 'integer', (col) =>
        database.dialect === 'postgres'
          ? col.generatedAlwaysAsIdentity().primaryKey()
          : col.autoIncrement().primaryKey(),
      )
      .addColumn('name', 'varchar(255)', (col) => col.notNull())
      .addColumn('owner_id', 'integer', (col) => col.notNull().references('person.id').onDelete('cascade'))
      .execute()
  })

  afterAll(async () => {
    await db?.destroy()
    await schema?.drop()
  })

  beforeEach(async () => {
    await db.deleteFrom('pet').execute()
    await db.deleteFrom('person').execute()
    await db.insertInto('person').values(people).execute()
  })

  it('runs typed selects, joins and aggregates', async () => {
    const adults = await db
      .selectFrom('person')
      .select(['first_name', 'last_name'])
      .where('age', '>', 40)
      .orderBy('first_name')
      .execute()
    expect(adults).toEqual([
      { first_name: 'Alan', last_name: 'Turing' },
      { first_name: 'Grace', last_name: null },
    ])

    const ada = await db.selectFrom('person').select('id').where('first_name', '=', 'Ada').executeTakeFirstOrThrow()
    await db.insertInto('pet').values({ name: 'Byron', owner_id: ada.id }).execute()
    const joined = await db
      .selectFrom('pet')
      .innerJoin('person', 'person.id', 'pet.owner_id')
      .select(['pet.name as pet', 'person.first_name as owner'])
      .execute()
    expect(joined).toEqual([{ pet: 'Byron', owner: 'Ada' }])

    const { count } = await db
      .selectFrom('person')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('count'))
      .executeTakeFirstOrThrow()
    expect(Number(count)).toBe(3)
  })

  it('reports affected and changed rows, and the insert id on MySQL', async () => {
    const inserted = await db.insertInto('person').values({ first_name: 'Edsger', age: 72 }).executeTakeFirstOrThrow()
    expect(inserted.numInsertedOrUpdatedRows).toBe(1n)
    if (database.dialect === 'mysql') {
      expect(typeof inserted.insertId).toBe('bigint')
      expect(inserted.insertId! > 0n).toBe(true)
    } else {
      const returned = await db
        .insertInto('person')
        .values({ first_name: 'Barbara', age: 84 })
        .returning(['id', 'first_name'])
        .executeTakeFirstOrThrow()
      expect(returned.first_name).toBe('Barbara')
      expect(returned.id).toBeGreaterThan(0)
    }

    // Two rows match, but one already has the value: MySQL tells them apart.
    await db.updateTable('person').set({ age: 41 }).where('first_name', '=', 'Ada').execute()
    const updated = await db.updateTable('person').set({ age: 41 }).where('age', '=', 41).executeTakeFirstOrThrow()
    expect(updated.numUpdatedRows).toBe(2n)
    if (database.dialect === 'mysql') {
      expect(updated.numChangedRows).toBe(0n)
    }

    const deleted = await db.deleteFrom('person').where('age', '=', 41).executeTakeFirstOrThrow()
    expect(deleted.numDeletedRows).toBe(2n)
  })

  it('introspects the tables', async () => {
    const tables = await db.introspection.getTables()
    const ours = tables.filter((table) => table.schema === schema.name).map((table) => table.name)
    expect(ours.sort()).toEqual(['person', 'pet'])
    const person = tables.find((table) => table.name === 'person' && table.schema === schema.name)!
    expect(person.columns.map((column) => column.name)).toEqual(['id', 'first_name', 'last_name', 'age'])
    expect(person.columns.find((column) => column.name === 'last_name')?.isNullable).toBe(true)
  })

  it('commits and rolls back transactions, with isolation level and access mode', async () => {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('person').values({ first_name: 'Kept', age: 1 }).execute()
    })
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('person').values({ first_name: 'Dropped', age: 1 }).execute()
        throw new Error('changed my mind')
      }),
    ).rejects.toThrow('changed my mind')
    const names = await db.selectFrom('person').select('first_name').where('age', '=', 1).execute()
    expect(names).toEqual([{ first_name: 'Kept' }])

    const isolation = await db
      .transaction()
      .setIsolationLevel('serializable')
      .execute(async (trx) => {
        if (database.dialect === 'postgres') {
          return (await sql<{ level: string }>`select current_setting('transaction_isolation') as level`.execute(trx))
            .rows[0]!.level
        }
        // MySQL shows a transaction's own level only once InnoDB has started it.
        await trx.selectFrom('person').selectAll().execute()
        const level = sql<{
          level: string
        }>`select trx_isolation_level as level from information_schema.innodb_trx where trx_mysql_thread_id = connection_id()`
        return (await level.execute(trx)).rows[0]!.level
      })
    expect(isolation.toLowerCase().replace('-', ' ')).toBe('serializable')

    await expect(
      db
        .transaction()
        .setAccessMode('read only')
        .execute((trx) => trx.insertInto('person').values({ first_name: 'Nope', age: 2 }).execute()),
    ).rejects.toThrow(/read.only/i)
    expect(await db.selectFrom('person').selectAll().where('first_name', '=', 'Nope').execute()).toEqual([])
  })

  it('rolls back to and releases savepoints', async () => {
    const trx = await db.startTransaction().execute()
    await trx.insertInto('person').values({ first_name: 'Before', age: 3 }).execute()
    const withSavepoint = await trx.savepoint('before_risky').execute()
    await withSavepoint.insertInto('person').values({ first_name: 'Risky', age: 3 }).execute()
    const rolledBack = await withSavepoint.rollbackToSavepoint('before_risky').execute()
    const again = await rolledBack.savepoint('second').execute()
    await again.insertInto('person').values({ first_name: 'After', age: 3 }).execute()
    await (await again.releaseSavepoint('second').execute()).commit().execute()

    const names = await db
      .selectFrom('person')
      .select('first_name')
      .where('age', '=', 3)
      .orderBy('first_name')
      .execute()
    expect(names.map((row) => row.first_name)).toEqual(['After', 'Before'])
  })

  it('runs controlled transactions', async () => {
    const trx = await db.startTransaction().setIsolationLevel('repeatable read').execute()
    await trx.insertInto('person').values({ first_name: 'Controlled', age: 4 }).execute()
    // Not visible outside before commit.
    expect(await db.selectFrom('person').selectAll().where('age', '=', 4).execute()).toEqual([])
    await trx.commit().execute()
    expect(trx.isCommitted).toBe(true)
    expect(await db.selectFrom('person').select('first_name').where('age', '=', 4).execute()).toEqual([
      { first_name: 'Controlled' },
    ])

    const rolledBack = await db.startTransaction().execute()
    await rolledBack.insertInto('person').values({ first_name: 'Gone', age: 5 }).execute()
    await rolledBack.rollback().execute()
    expect(rolledBack.isRolledBack).toBe(true)
    expect(await db.selectFrom('person').selectAll().where('age', '=', 5).execute()).toEqual([])
  })

  it('keeps one connection for db.connection()', async () => {
    // With pipeline: true the previous test's shared lease goes back once its tick is over.
    await expect.poll(() => dialect.pool.stats().used).toBe(0)
    const acquires = dialect.pool.stats().acquires
    const [first, second] = await db.connection().execute(async (conn) => {
      const id =
        database.dialect === 'postgres'
          ? sql<{ id: number }>`select pg_backend_pid() as id`
          : sql<{ id: number }>`select connection_id() as id`
      return [(await id.execute(conn)).rows[0]!.id, (await id.execute(conn)).rows[0]!.id]
    })
    // One lease for both statements. Behind a transaction pooler that pins the
    // client connection only: the server session may change between transactions.
    expect(dialect.pool.stats().acquires).toBe(acquires + 1)
    if (!isPgBouncer(database)) expect(first).toBe(second)
    await expect.poll(() => dialect.pool.stats().used).toBe(0)
  })

  it('streams in chunks of chunkSize and releases clean when the consumer breaks early', async () => {
    await db
      .insertInto('person')
      .values(Array.from({ length: 25 }, (_, i) => ({ first_name: `stream${i}`, age: 100 + i })))
      .execute()
    const chunks: number[] = []
    const recordChunks: KyselyPlugin = {
      transformQuery: (args) => args.node,
      transformResult: async (args) => {
        chunks.push(args.result.rows.length)
        return args.result
      },
    }
    const streaming = db.withPlugin(recordChunks)
    const ages: number[] = []
    for await (const row of streaming
      .selectFrom('person')
      .select('age')
      .where('age', '>=', 100)
      .orderBy('age')
      .stream(10)) {
      ages.push(row.age)
    }
    expect(ages).toEqual(Array.from({ length: 25 }, (_, i) => 100 + i))
    expect(chunks).toEqual([10, 10, 5])

    const before = dialect.pool.stats()
    let seen = 0
    for await (const _row of db.selectFrom('person').selectAll().stream(2)) {
      if (++seen === 3) {
        break
      }
    }
    expect(seen).toBe(3)
    const after = dialect.pool.stats()
    expect(after.used).toBe(0)
    // Released clean: no rollback and no forced close were needed.
    expect(after.rolledBackOnRelease).toBe(before.rolledBackOnRelease)
    expect(after.destroyed).toBe(before.destroyed)
    // And the connection works for the next query.
    expect(await db.selectFrom('person').select('first_name').where('age', '=', 124).execute()).toEqual([
      { first_name: 'stream24' },
    ])
  })

  it('runs raw SQL through the same connection API', async () => {
    const result = await db.executeQuery<{ one: number }>(CompiledQuery.raw('select 1 as one'))
    expect(result.rows).toEqual([{ one: 1 }])
  })
})
