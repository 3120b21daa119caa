import { testDatabases } from '@kysely-pooled/core/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { runNotes, NOTES_USAGE } from '../src/cli-single/notes-cli.js'
import { createPooledKysely } from '../src/shared/dialect.js'
import { databaseAt } from '../src/shared/databases.js'

describe.each(testDatabases())('cli-single on $dialect', ({ dialect, url }) => {
  const database = databaseAt(dialect, url)

  const notes = async (...argv: string[]) => {
    const out: string[] = []
    const err: string[] = []
    const code = await runNotes(argv, database, { out: (l) => out.push(l), err: (l) => err.push(l) })
    return { code, out, err }
  }

  afterAll(async () => {
    const { db } = createPooledKysely<object>(database, { max: 1 })
    await db.schema.dropTable('kp_ex_notes').ifExists().execute()
    await db.destroy()
  })

  it('does a whole run on one connection (pool max 1)', async () => {
    await notes('clear')
    expect((await notes('add', 'buy', 'milk')).out).toEqual(['noted: buy milk'])
    await notes('add', 'call Ada')
    const list = await notes('list')
    expect(list.code).toBe(0)
    expect(list.out.map((l) => l.replace(/^\d+\. /, ''))).toEqual(['buy milk', 'call Ada'])
    // Create the table, then select: two acquires, one connection, ever.
    expect(list.err).toEqual(['(pool: 1 connection opened, 2 acquires)'])
    expect((await notes('clear')).out).toEqual(['cleared 2 note(s)'])
  })

  it('prints usage and exits 2 on a bad command, without touching the database', async () => {
    expect(await notes('frobnicate')).toEqual({ code: 2, out: [], err: [NOTES_USAGE] })
  })
})
