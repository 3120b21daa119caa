import { testDatabases } from '@kysely-pooled/core/testing'
import * as kysely from 'kysely'
import { Kysely, sql } from 'kysely'
// Type-only (erased): the runtime class is picked per Kysely line below.
import type { Migration, MigrationProvider } from 'kysely/migration'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestSchema, pooledDialect, type TestSchema } from './helpers.js'

// kysely 0.29 moved the Migrator to 'kysely/migration'; 0.28 has it in 'kysely'.
type MigratorClass = typeof import('kysely/migration').Migrator
async function loadMigrator(): Promise<MigratorClass> {
  const fromMain = (kysely as unknown as { Migrator?: MigratorClass }).Migrator
  return fromMain ?? (await import('kysely/migration')).Migrator
}

describe.each(testDatabases())('migrations on $dialect', (database) => {
  let schema: TestSchema
  let db: Kysely<any>

  beforeAll(async () => {
    schema = await createTestSchema(database, 'migrations')
    db = new Kysely({ dialect: pooledDialect(schema, { pool: { max: 4 } }) })
  })

  afterAll(async () => {
    await db?.destroy()
    await schema?.drop()
  })

  it('runs each migration once when two migrators race, thanks to the migration lock', async () => {
    const Migrator = await loadMigrator()
    const runs: string[] = []
    const migrations: Record<string, Migration> = {
      '001_person': {
        up: async (trx) => {
          runs.push('001')
          await trx.schema
            .createTable('person')
            .addColumn('id', 'integer', (col) => col.primaryKey())
            .execute()
          // Hold the lock for a moment so the second migrator must wait for it.
          await sql`select ${sql.raw(database.dialect === 'postgres' ? 'pg_sleep(0.2)' : 'sleep(0.2)')}`.execute(trx)
        },
      },
      '002_person_name': {
        up: async (trx) => {
          runs.push('002')
          await trx.schema.alterTable('person').addColumn('name', 'varchar(64)').execute()
        },
      },
    }
    const provider: MigrationProvider = { getMigrations: async () => migrations }
    const migrator = () => new Migrator({ db, provider })

    const [first, second] = await Promise.all([migrator().migrateToLatest(), migrator().migrateToLatest()])
    expect(first.error).toBeUndefined()
    expect(second.error).toBeUndefined()
    expect(runs).toEqual(['001', '002'])
    const applied = [...(first.results ?? []), ...(second.results ?? [])]
    expect(applied.map((result) => `${result.migrationName}:${result.status}`).sort()).toEqual([
      '001_person:Success',
      '002_person_name:Success',
    ])

    const tables = await db.introspection.getTables()
    const person = tables.find((table) => table.name === 'person' && table.schema === schema.name)
    expect(person?.columns.map((column) => column.name)).toEqual(['id', 'name'])
    const migrated = await migrator().getMigrations()
    expect(migrated.every((migration) => migration.executedAt instanceof Date)).toBe(true)
  })
})
