import type { ColumnType, Generated, Kysely } from 'kysely'
import type { ExampleDialect } from '../shared/databases.js'

export interface TodoTable {
  id: Generated<number>
  title: string
  // MySQL has no boolean: it stores TINYINT(1) and returns 0 / 1.
  done: ColumnType<boolean | 0 | 1, boolean | undefined, boolean>
}

export interface TodoDB {
  kp_ex_todos: TodoTable
}

export async function createTodoTable(db: Kysely<TodoDB>, dialect: ExampleDialect): Promise<void> {
  await db.schema
    .createTable('kp_ex_todos')
    .ifNotExists()
    .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) =>
      dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('title', 'varchar(200)', (c) => c.notNull())
    .addColumn('done', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
}

export async function dropTodoTable(db: Kysely<TodoDB>): Promise<void> {
  await db.schema.dropTable('kp_ex_todos').ifExists().execute()
}
