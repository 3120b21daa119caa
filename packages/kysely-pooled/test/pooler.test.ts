import { assertAvailable, pgbouncerTarget } from '@kysely-pooled/core/testing'
import { CompiledQuery, Kysely, sql } from 'kysely'
import { PooledPostgresDialect, SessionStateError } from 'kysely-pooled'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestSchema, pooledDialect, type TestSchema } from './helpers.js'

describe('PooledPostgresDialect pooler option', () => {
  it('rejects a bad pooler with the other config problems, naming the choices', () => {
    expect(
      () => new PooledPostgresDialect({ connection: 'postgres://127.0.0.1/x', pooler: 'pgbouncer' as never }),
    ).toThrow(
      /PooledPostgresDialect: pooler must be 'none', 'session', 'transaction' or \{ mode, preparedStatements \}, got 'pgbouncer'/,
    )
  })
})

describe('Kysely through PgBouncer (transaction mode)', () => {
  const target = pgbouncerTarget()
  let schema: TestSchema
  let db: Kysely<object>

  beforeAll(async () => {
    assertAvailable(target)
    schema = await createTestSchema(target, 'pooler')
    db = new Kysely<object>({ dialect: pooledDialect(schema, { pool: { max: 2 } }) })
  })

  afterAll(async () => {
    await db?.destroy()
    await schema?.drop()
  })

  it('refuses a session-level SET before it is sent, naming SET LOCAL', async () => {
    const error = await sql`set statement_timeout = '1234'`.execute(db).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SessionStateError)
    expect((error as SessionStateError).code).toBe('POOL_SESSION_STATE')
    expect((error as Error).message).toContain('SET LOCAL')
  })

  it('runs SET LOCAL and transaction-scoped locks inside db.transaction()', async () => {
    const setting = await db.transaction().execute(async (trx) => {
      await sql`set local statement_timeout = '1234'`.execute(trx)
      await sql`select pg_advisory_xact_lock(880001)`.execute(trx)
      return (await sql<{ v: string }>`select current_setting('statement_timeout') as v`.execute(trx)).rows[0]!.v
    })
    expect(setting).toBe('1234ms')
  })

  it('refuses a session lock inside a transaction too, and the transaction rolls back cleanly', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_lock(880002)`.execute(trx)
      }),
    ).rejects.toMatchObject({ kind: 'session advisory lock', inTransaction: true })
    expect((await sql<{ n: number }>`select 1 as n`.execute(db)).rows).toEqual([{ n: 1 }])
  })

  it('refuses what onCreateConnection would set for the session (set it on the role or in connect_query)', async () => {
    const hooked = new Kysely<object>({
      dialect: pooledDialect(schema, {
        pool: { max: 1 },
        onCreateConnection: async (connection) => {
          await connection.executeQuery(CompiledQuery.raw("set timezone = 'UTC'"))
        },
      }),
    })
    try {
      await expect(sql`select 1`.execute(hooked)).rejects.toMatchObject({ kind: 'SET' })
    } finally {
      await hooked.destroy()
    }
  })
})
