import type { Generated, Kysely } from 'kysely'
import type { ExampleDatabase } from '../shared/databases.js'
import { createPooledKysely } from '../shared/dialect.js'

export interface NotesDB {
  kp_ex_notes: { id: Generated<number>; text: string }
}

export interface NotesIo {
  out(line: string): void
  err(line: string): void
}

export const NOTES_USAGE = 'usage: notes add <text> | notes list | notes clear'

/**
 * A command-line tool: one user, one thing at a time, so one connection.
 * The sizing guidance says start with as few connections as possible; for a
 * CLI that is `max: 1`, and `min: 0` so nothing is opened before it is needed.
 * Every query of the run shares that one connection.
 */
export async function runNotes(argv: readonly string[], database: ExampleDatabase, io: NotesIo): Promise<number> {
  const [command, ...words] = argv
  if (command !== 'add' && command !== 'list' && command !== 'clear') {
    io.err(NOTES_USAGE)
    return 2
  }
  const { db, pool } = createPooledKysely<NotesDB>(database, {
    max: 1,
    min: 0,
    // Nobody else shares this pool: a wait means something is wrong, so fail fast.
    acquireTimeoutMillis: 5_000,
    name: 'notes-cli',
  })
  try {
    await ensureTable(db, database)
    if (command === 'add') {
      const text = words.join(' ').trim()
      if (text === '') {
        io.err(NOTES_USAGE)
        return 2
      }
      await db.insertInto('kp_ex_notes').values({ text }).execute()
      io.out(`noted: ${text}`)
    } else if (command === 'list') {
      const notes = await db.selectFrom('kp_ex_notes').select(['id', 'text']).orderBy('id').execute()
      for (const note of notes) io.out(`${note.id}. ${note.text}`)
      if (notes.length === 0) io.out('(no notes)')
    } else {
      const result = await db.deleteFrom('kp_ex_notes').executeTakeFirst()
      io.out(`cleared ${Number(result.numDeletedRows)} note(s)`)
    }
    const s = pool.stats()
    io.err(`(pool: ${s.created} connection opened, ${s.acquires} acquires)`)
    return 0
  } catch (error) {
    io.err(`notes: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`)
    return 1
  } finally {
    await db.destroy()
  }
}

async function ensureTable(db: Kysely<NotesDB>, database: ExampleDatabase): Promise<void> {
  await db.schema
    .createTable('kp_ex_notes')
    .ifNotExists()
    .addColumn('id', database.dialect === 'postgres' ? 'serial' : 'integer', (c) =>
      database.dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('text', 'varchar(500)', (c) => c.notNull())
    .execute()
}
