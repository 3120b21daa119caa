import { testDatabases } from '@kysely-pooled/core/testing'
import { CompiledQuery, Kysely } from 'kysely'
import { PoolConfigError, PooledPostgresDialect } from 'kysely-pooled'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestSchema, pooledDialect, type TestSchema } from './helpers.js'

// `statementTimeoutMillis` on the dialect: the server ends a long statement,
// and the limit survives the session reset that follows a session change.
describe.each(testDatabases())('statementTimeoutMillis on $dialect', (database) => {
  const isPostgres = database.dialect === 'postgres'
  const sleep = CompiledQuery.raw(isPostgres ? 'select pg_sleep(5)' : 'select sleep(5) as slept')
  let schema: TestSchema
  let db: Kysely<Record<string, never>>

  beforeAll(async () => {
    schema = await createTestSchema(database, 'stmt_timeout')
    db = new Kysely({ dialect: pooledDialect(schema, { pool: { max: 1 }, statementTimeoutMillis: 300 }) })
  })

  afterAll(async () => {
    await db?.destroy()
    await schema?.drop()
  })

  async function sleepOutcome(): Promise<string> {
    try {
      const { rows } = await db.executeQuery<{ slept?: number }>(sleep)
      // MariaDB's max_statement_time ends SLEEP() early with a result of 1 rather than an error.
      return rows[0]?.slept === 1 ? 'interrupted' : 'completed'
    } catch (error) {
      return `failed: ${(error as Error).message}`
    }
  }

  it('ends a statement that runs past the limit, before and after a session reset', async () => {
    const first = await sleepOutcome()
    expect(first).not.toBe('completed')
    // A session change makes the release reset the session; the limit must survive it.
    await db.executeQuery(CompiledQuery.raw(isPostgres ? "set application_name = 'kp-timeout'" : 'set @kp_timeout = 1'))
    const second = await sleepOutcome()
    expect(second).not.toBe('completed')
    expect(await db.executeQuery(CompiledQuery.raw('select 1 as one')).then((r) => r.rows)).toEqual([{ one: 1 }])
  })

  it("gives the server's statement-timeout error a code to switch on", async () => {
    // A statement the server must end with an error (SLEEP() on MariaDB just returns early).
    const long = isPostgres
      ? 'select pg_sleep(5)'
      : 'SET STATEMENT max_recursive_iterations = 100000000 FOR WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100000000) SELECT count(*) AS n FROM r'
    const error = await db.executeQuery(CompiledQuery.raw(long)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    // PostgreSQL: SQLSTATE 57014 query_canceled; MariaDB: errno 1969, which mysql2 leaves unnamed.
    expect((error as { code?: unknown }).code).toBe(isPostgres ? '57014' : 'ER_STATEMENT_TIMEOUT')
  })
})

it('refuses statementTimeoutMillis through a pooler, saying where to set it instead', () => {
  expect(
    () =>
      new PooledPostgresDialect({
        connection: 'postgres://127.0.0.1/x',
        pooler: 'transaction',
        statementTimeoutMillis: 1_000,
      }),
  ).toThrow(PoolConfigError)
})
