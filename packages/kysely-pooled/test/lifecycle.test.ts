import { createPool, mysqlConnector, postgresConnector, Pool, type PoolOptions } from '@kysely-pooled/core'
import { testDatabases, type TestDatabase } from '@kysely-pooled/core/testing'
import * as kysely from 'kysely'
import { CamelCasePlugin, Kysely, sql, type Generated } from 'kysely'
import type { Migration, MigrationProvider } from 'kysely/migration'
import {
  PoolConfigError,
  PooledMysqlDialect,
  PooledPostgresDialect,
  PoolTimeoutError,
  type PoolFactory,
} from 'kysely-pooled'
import type { Connection } from 'mysql2'
import type { Client } from 'pg'
import Cursor from 'pg-cursor'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestSchema, pipelineVariant, pooledDialect, type TestSchema } from './helpers.js'

/*
 * The dialect's life as Kysely's own test suite and docs use a dialect: one
 * dialect instance, Kysely instances created and destroyed around it, copies
 * made with withPlugin / withSchema, migrations run by short-lived instances,
 * the pool given as a factory.
 */

interface DB {
  item: { id: Generated<number>; item_name: string }
}

interface CamelDB {
  item: { id: Generated<number>; itemName: string }
}

type MigratorClass = typeof import('kysely/migration').Migrator
// kysely 0.29 moved the Migrator to 'kysely/migration'; 0.28 has it in 'kysely'.
async function loadMigrator(): Promise<MigratorClass> {
  const fromMain = (kysely as unknown as { Migrator?: MigratorClass }).Migrator
  return fromMain ?? (await import('kysely/migration')).Migrator
}

/** A dialect whose `pool` is a factory (and `connection` the schema's). */
function dialectWithFactory(schema: TestSchema, factory: PoolFactory<Client> | PoolFactory<Connection>) {
  if (schema.database.dialect === 'postgres') {
    return new PooledPostgresDialect({
      connection: schema.connection,
      pool: factory as PoolFactory<Client>,
      cursor: Cursor,
      pipeline: pipelineVariant,
    })
  }
  return new PooledMysqlDialect({ connection: schema.connection as string, pool: factory as PoolFactory<Connection> })
}

function newPool(database: TestDatabase, schema: TestSchema, options: PoolOptions): Pool<unknown> {
  return (
    database.dialect === 'postgres'
      ? createPool(postgresConnector(schema.connection), options)
      : createPool(mysqlConnector(schema.connection as string), options)
  ) as Pool<unknown>
}

// Named, so the tests can look for them in acquire sites.
async function openControlledTransaction(db: Kysely<DB>) {
  return await db.startTransaction().execute()
}

function holdConnectionUntil(db: Kysely<DB>, done: Promise<void>): Promise<void> {
  return db.connection().execute(async (conn) => {
    await sql`select 1`.execute(conn)
    await done
  })
}

describe.each(testDatabases())('one dialect, many Kysely instances, on $dialect', (database) => {
  let schema: TestSchema

  beforeAll(async () => {
    schema = await createTestSchema(database, 'lifecycle')
    const db = new Kysely<DB>({ dialect: pooledDialect(schema) })
    await db.schema
      .createTable('item')
      .addColumn('id', 'integer', (col) =>
        (database.dialect === 'postgres' ? col.generatedAlwaysAsIdentity() : col.autoIncrement()).primaryKey(),
      )
      .addColumn('item_name', 'varchar(64)', (col) => col.notNull())
      .execute()
    await db.destroy()
  })

  afterAll(async () => {
    await schema?.drop()
  })

  it("serves Kysely instances one after another, as Kysely's own test suite uses a dialect", async () => {
    const dialect = pooledDialect(schema, { pool: { max: 2, name: 'kp-sequential' } })
    // Kept in a variable: it still means the live pool after the dialect made a new one.
    const pool = dialect.pool
    const created: number[] = []
    const onCreate = ({ connectionId }: { connectionId: number }) => created.push(connectionId)
    // Attached once, before the first instance: it hears every pool the dialect makes.
    pool.on('create', onCreate)
    for (const round of [1, 2, 3]) {
      if (round === 3) {
        pool.off('create', onCreate)
      }
      const db = new Kysely<DB>({ dialect })
      await db
        .insertInto('item')
        .values({ item_name: `sequential ${round}` })
        .execute()
      expect(pool.closed).toBe(false)
      // A shared lease (pipeline: true) goes back once the tick is over.
      await expect.poll(() => pool.stats()).toMatchObject({ name: 'kp-sequential', size: 1, used: 0, created: 1 })
      await db.destroy()
      // The last instance destroyed the pool and closed its connection.
      expect(pool.closed).toBe(true)
      expect(pool.stats()).toMatchObject({ size: 0, created: 1, destroyed: 1 })
    }
    expect(dialect.pool).toBe(pool)
    expect(pool).toBeInstanceOf(Pool)
    // Heard in rounds 1 and 2, from two different pools; removed before round 3.
    expect(created).toHaveLength(2)

    const db = new Kysely<DB>({ dialect })
    const names = await db.selectFrom('item').select('item_name').where('item_name', 'like', 'sequential%').execute()
    await db.destroy()
    expect(names.map((row) => row.item_name).sort()).toEqual(['sequential 1', 'sequential 2', 'sequential 3'])
  })

  it('keeps an instance working, mid-transaction, when another on the same dialect is destroyed', async () => {
    const dialect = pooledDialect(schema, { pool: { max: 2 } })
    const plain = new Kysely<DB>({ dialect })
    // As Kysely's camel-case tests: a second instance with its own plugins on the same dialect.
    const camel = new Kysely<CamelDB>({ dialect, plugins: [new CamelCasePlugin()] })
    await plain.selectFrom('item').selectAll().execute()

    const trx = await camel.startTransaction().execute()
    await trx.insertInto('item').values({ itemName: 'survivor' }).execute()
    await plain.destroy()
    expect(dialect.pool.closed).toBe(false)

    // The transaction was neither revoked nor rolled back by the other instance's destroy.
    await trx.insertInto('item').values({ itemName: 'survivor 2' }).execute()
    await trx.commit().execute()
    const rows = await camel.selectFrom('item').select('itemName').where('itemName', 'like', 'survivor%').execute()
    expect(rows.map((row) => row.itemName).sort()).toEqual(['survivor', 'survivor 2'])
    await expect.poll(() => dialect.pool.stats()).toMatchObject({ revoked: 0, rolledBackOnRelease: 0, used: 0 })
    // Both instances shared one pool: `max` is the dialect's budget, not each instance's.
    expect(dialect.pool.stats().created).toBeLessThanOrEqual(2)

    await camel.destroy()
    expect(dialect.pool.closed).toBe(true)
  })

  it('shares one driver with withPlugin / withSchema copies; destroy twice is harmless', async () => {
    const dialect = pooledDialect(schema, { pool: { max: 2 } })
    const db = new Kysely<DB>({ dialect })
    const camel = db.withPlugin(new CamelCasePlugin()) as unknown as Kysely<CamelDB>
    const inSchema = db.withSchema(schema.name)

    await camel.insertInto('item').values({ itemName: 'copied' }).execute()
    const viaSchema = await inSchema.selectFrom('item').select('item_name').where('item_name', '=', 'copied').execute()
    expect(viaSchema).toEqual([{ item_name: 'copied' }])
    expect(inSchema.selectFrom('item').selectAll().compile().sql).toContain(schema.name)

    // A copy shares the original's driver, so destroying it ends the original too (as with
    // the stock dialects); destroying again, from any copy, at once or later, is a no-op.
    await camel.destroy()
    expect(dialect.pool.closed).toBe(true)
    await expect(db.selectFrom('item').selectAll().execute()).rejects.toThrow(/destroyed/)
    await Promise.all([db.destroy(), inSchema.destroy(), db.destroy()])
    await db.destroy()

    // The dialect is not spent: a new instance gets a new pool.
    const next = new Kysely<DB>({ dialect })
    expect(await next.selectFrom('item').select('item_name').where('item_name', '=', 'copied').execute()).toHaveLength(
      1,
    )
    await next.destroy()
    await next.destroy()
  })

  it('runs Migrator migrations from short-lived instances on one dialect', async () => {
    const Migrator = await loadMigrator()
    const migrations: Record<string, Migration> = {
      '001_tag': {
        up: async (db) => {
          await db.schema
            .createTable('tag')
            .addColumn('id', 'integer', (col) => col.primaryKey())
            .execute()
        },
        down: async (db) => {
          await db.schema.dropTable('tag').execute()
        },
      },
      '002_tag_label': {
        up: async (db) => {
          await db.schema.alterTable('tag').addColumn('label', 'varchar(32)').execute()
        },
        down: async (db) => {
          await db.schema.alterTable('tag').dropColumn('label').execute()
        },
      },
    }
    const provider: MigrationProvider = { getMigrations: async () => migrations }
    const dialect = pooledDialect(schema, { pool: { max: 2 } })
    // Each step as a migration CLI does it: a new Kysely, migrate, destroy.
    const step = async <T>(
      work: (migrator: InstanceType<MigratorClass>, db: Kysely<any>) => Promise<T>,
    ): Promise<T> => {
      const db = new Kysely<any>({ dialect })
      try {
        return await work(new Migrator({ db, provider }), db)
      } finally {
        await db.destroy()
      }
    }

    const latest = await step((migrator) => migrator.migrateToLatest())
    expect(latest.error).toBeUndefined()
    expect(latest.results?.map((r) => `${r.migrationName}:${r.status}`)).toEqual([
      '001_tag:Success',
      '002_tag_label:Success',
    ])

    const down = await step((migrator) => migrator.migrateDown())
    expect(down.error).toBeUndefined()
    expect(down.results?.map((r) => `${r.migrationName}:${r.direction}`)).toEqual(['002_tag_label:Down'])

    const columns = await step(async (migrator, db) => {
      const again = await migrator.migrateToLatest()
      expect(again.results?.map((r) => r.migrationName)).toEqual(['002_tag_label'])
      const executed = await migrator.getMigrations()
      expect(executed.every((migration) => migration.executedAt instanceof Date)).toBe(true)
      const tables = await db.introspection.getTables()
      return tables.find((table) => table.name === 'tag' && table.schema === schema.name)?.columns.map((c) => c.name)
    })
    expect(columns).toEqual(['id', 'label'])
    expect(dialect.pool.closed).toBe(true)
  })

  it('accepts a pool factory, sync or async, returning options: one pool per generation', async () => {
    let calls = 0
    const dialect = dialectWithFactory(schema, async () => {
      calls++
      return { max: 2, name: 'kp-factory' }
    })
    const created: number[] = []
    dialect.pool.on('create', ({ connectionId }) => created.push(connectionId))
    // Nothing to describe before the factory ran, and it runs on first use only.
    expect(() => dialect.pool.stats()).toThrow(/no pool yet: the pool factory runs when a Kysely instance first uses/)
    expect(calls).toBe(0)

    const first = new Kysely<DB>({ dialect })
    const second = new Kysely<DB>({ dialect })
    await Promise.all([sql`select 1`.execute(first), sql`select 1`.execute(second)])
    expect(calls).toBe(1)
    expect(dialect.pool.name).toBe('kp-factory')
    await first.destroy()
    await sql`select 1`.execute(second)
    await second.destroy()
    expect(dialect.pool.closed).toBe(true)

    const third = new Kysely<DB>({ dialect })
    await sql`select 1`.execute(third)
    expect(calls).toBe(2)
    expect(dialect.pool.closed).toBe(false)
    await third.destroy()
    // Each generation's connections were heard by the listener attached before the first.
    expect(created.length).toBeGreaterThanOrEqual(2)

    const sync = dialectWithFactory(schema, () => ({ max: 1 }))
    const db = new Kysely<DB>({ dialect: sync })
    expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows).toEqual([{ one: 1 }])
    await db.destroy()
    expect(sync.pool.closed).toBe(true)
  })

  it('retries a pool factory that failed, as Kysely retries a failed driver init', async () => {
    let calls = 0
    const dialect = dialectWithFactory(schema, async () => {
      if (++calls === 1) {
        throw new Error('secret store unavailable')
      }
      return { max: 1 }
    })
    const db = new Kysely<DB>({ dialect })
    await expect(sql`select 1`.execute(db)).rejects.toThrow('secret store unavailable')
    // The same instance tries again on its next query, and this time gets a pool.
    expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows).toEqual([{ one: 1 }])
    expect(calls).toBe(2)
    await db.destroy()
    expect(dialect.pool.closed).toBe(true)
  })

  it('destroys a Pool the factory made with the last instance, and refuses one it returns twice', async () => {
    const made: Pool<unknown>[] = []
    const dialect = dialectWithFactory(schema, () => {
      made.push(newPool(database, schema, { max: 1 }))
      return made.at(-1) as never
    })
    const db = new Kysely<DB>({ dialect })
    await sql`select 1`.execute(db)
    expect(dialect.pool.stats().created).toBe(1)
    expect(dialect.pool).toBeInstanceOf(Pool)
    await db.destroy()
    expect(made).toHaveLength(1)
    expect(made[0]!.closed).toBe(true)

    const shared = newPool(database, schema, { max: 1 })
    try {
      const memoised = dialectWithFactory(schema, () => shared as never)
      const once = new Kysely<DB>({ dialect: memoised })
      await sql`select 1`.execute(once)
      await once.destroy()
      const twice = new Kysely<DB>({ dialect: memoised })
      const error = await sql`select 1`.execute(twice).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(PoolConfigError)
      expect((error as PoolConfigError).problems).toEqual([
        expect.stringMatching(/the pool factory returned is a destroyed pool: a pool factory must return a new Pool/),
      ])
      await twice.destroy()
    } finally {
      await shared.destroy()
    }
  })

  it("names the application's acquire site for startTransaction() and db.connection(), first use included", async () => {
    const dialect = pooledDialect(schema, { pool: { max: 2, leakDetectionMillis: 50, acquireTimeoutMillis: 300 } })
    const leaks: (string | undefined)[] = []
    dialect.pool.on('leak', ({ acquiredAt }) => leaks.push(acquiredAt))
    // A fresh instance: its first acquire comes after Kysely's driver init.
    const db = new Kysely<DB>({ dialect })
    const trx = await openControlledTransaction(db)
    let done!: () => void
    const other = new Kysely<DB>({ dialect })
    const holding = holdConnectionUntil(other, new Promise<void>((resolve) => (done = resolve)))
    await expect.poll(() => dialect.pool.stats().used).toBe(2)

    const sites = dialect.pool.holders().map((holder) => holder.acquiredAt)
    expect(sites).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^openControlledTransaction .*lifecycle\.test\.ts/),
        expect.stringMatching(/^holdConnectionUntil .*lifecycle\.test\.ts/),
      ]),
    )
    await expect.poll(() => leaks.length).toBeGreaterThanOrEqual(2)
    expect(leaks).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^openControlledTransaction /),
        expect.stringMatching(/^holdConnectionUntil /),
      ]),
    )

    // The pool is full: the timeout names both holders' sites.
    const error = await db
      .selectFrom('item')
      .selectAll()
      .execute()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PoolTimeoutError)
    expect((error as PoolTimeoutError).message).toMatch(/acquired at openControlledTransaction .*lifecycle\.test\.ts/)
    expect((error as PoolTimeoutError).message).toMatch(/acquired at holdConnectionUntil .*lifecycle\.test\.ts/)

    await trx.rollback().execute()
    done()
    await holding
    await other.destroy()
    await db.destroy()
    expect(dialect.pool.closed).toBe(true)
  })
})
