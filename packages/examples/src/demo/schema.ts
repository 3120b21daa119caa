import { sql, type Generated, type Kysely } from 'kysely'
import type { ExampleDialect } from '../shared/databases.js'

/** The demo's tables, typed: Kysely checks every query against this. */
export interface DemoDB {
  kp_demo_users: { id: Generated<number>; name: string; email: string }
  kp_demo_orders: { id: Generated<number>; user_id: number; total_cents: number }
  kp_demo_ledger: { id: Generated<number>; note: string }
}

const TABLES = ['kp_demo_orders', 'kp_demo_users', 'kp_demo_ledger'] as const

export async function createDemoTables(db: Kysely<DemoDB>, dialect: ExampleDialect): Promise<void> {
  await dropDemoTables(db)
  // An auto-numbered key is spelled differently; everything else is shared.
  const id = dialect === 'postgres' ? ('serial' as const) : ('integer' as const)
  const autoIncrement = dialect === 'mysql'
  await db.schema
    .createTable('kp_demo_users')
    .addColumn('id', id, (c) => (autoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('email', 'varchar(200)', (c) => c.notNull().unique())
    .execute()
  await db.schema
    .createTable('kp_demo_orders')
    .addColumn('id', id, (c) => (autoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('kp_demo_users.id'))
    .addColumn('total_cents', 'integer', (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('kp_demo_ledger')
    .addColumn('id', id, (c) => (autoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn('note', 'varchar(200)', (c) => c.notNull())
    .execute()
}

export async function dropDemoTables(db: Kysely<DemoDB>): Promise<void> {
  for (const table of TABLES) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}

/** A statement that keeps its connection busy for `millis`: a simulated user's request. */
export function sleepQuery(dialect: ExampleDialect, millis: number) {
  const seconds = millis / 1000
  return dialect === 'postgres' ? sql`select pg_sleep(${sql.lit(seconds)})` : sql`select sleep(${sql.lit(seconds)})`
}
