import { createPool, mysqlConnector, postgresConnector, type Pool } from '@kysely-pooled/core'
import { testDatabases } from '@kysely-pooled/core/testing'
import { AbortedTransactionError, CompiledQuery, Kysely, sql, type DatabaseConnection } from 'kysely'
import { PoolConfigError, PoolTimeoutError, PooledMysqlDialect, PooledPostgresDialect } from 'kysely-pooled'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestSchema, pipelineVariant, pooledDialect, type TestSchema } from './helpers.js'

describe('dialect config', () => {
  it('says what is wrong with a missing or invalid connection, without echoing it', () => {
    expect(() => new PooledPostgresDialect({})).toThrow(/connection is required \(a 'postgres:\/\/…' URL/)
    expect(() => new PooledMysqlDialect({ connection: '  ' })).toThrow(/connection must not be an empty string/)
    expect(() => new PooledPostgresDialect({ connection: 42 as unknown as string })).toThrow(
      /connection must be a 'postgres:\/\/…' URL or a pg ClientConfig, got 42/,
    )
    const withTypo = { connection: 'postgres://u:secret@localhost/db', onReserveConection: async () => {} }
    expect(() => new PooledPostgresDialect(withTypo as never)).toThrow(/unknown option "onReserveConection"/)
    expect(() => new PooledPostgresDialect(withTypo as never)).not.toThrow(/secret/)
  })

  it('points a stock-dialect pool at the right options', () => {
    const stockPool = new pg.Pool()
    expect(
      () => new PooledPostgresDialect({ connection: 'postgres://localhost/db', pool: stockPool as never }),
    ).toThrow(/looks like a pg\/mysql2 pool/)
    void stockPool.end()
  })

  it('rejects bad pool options with the core PoolConfigError', () => {
    expect(() => new PooledMysqlDialect({ connection: 'mysql://localhost/db', pool: { max: 0 } })).toThrow(
      PoolConfigError,
    )
  })

  it('reports every problem of the dialect config and of the pool options at once, in one PoolConfigError', () => {
    const config = {
      connection: 42,
      pool: { max: 0, connectionLimit: 5 },
      max: 3,
      onCreateConnection: 'setup',
      destroyGraceMillis: -1,
    }
    let error: unknown
    try {
      new PooledPostgresDialect(config as never)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(PoolConfigError)
    expect((error as PoolConfigError).code).toBe('POOL_CONFIG')
    const problems = (error as PoolConfigError).problems
    expect(problems).toHaveLength(6)
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PooledPostgresDialect: unknown option "max": pool options go under `pool`/),
        expect.stringMatching(
          /^PooledPostgresDialect: connection must be a 'postgres:\/\/…' URL or a pg ClientConfig, got 42/,
        ),
        expect.stringMatching(/^PooledPostgresDialect: pool: max must be an integer >= 1, got 0/),
        expect.stringMatching(/^PooledPostgresDialect: pool: unknown option "connectionLimit"/),
        expect.stringMatching(/^PooledPostgresDialect: onCreateConnection must be a function, got a string/),
        expect.stringMatching(/^PooledPostgresDialect: destroyGraceMillis must be an integer >= 0, got -1/),
      ]),
    )
    // A function is a pool factory: its result is checked when it runs.
    expect(() => new PooledMysqlDialect({ pool: () => ({ max: 1 }) })).not.toThrow()
    expect(() => new PooledMysqlDialect({ pool: [] as never, connection: 'mysql://localhost/db' })).toThrow(
      /pool must be pool options, a core Pool or a function returning either, got an array/,
    )
  })

  it('says when a pool factory returned options but there is no connection to use them with', async () => {
    const db = new Kysely({ dialect: new PooledMysqlDialect({ pool: async () => ({ max: 1 }) }) })
    const error = await sql`select 1`.execute(db).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PoolConfigError)
    expect((error as PoolConfigError).problems).toEqual([
      "PooledMysqlDialect: connection is required (a 'mysql://…' URL or mysql2 ConnectionOptions) when the pool factory returns pool options",
    ])
    await db.destroy()
  })

  it('rejects a shared pool of the other database', async () => {
    const mysqlPool = createPool(mysqlConnector('mysql://root@127.0.0.1:3306/test'))
    try {
      expect(() => new PooledPostgresDialect({ pool: mysqlPool as unknown as Pool<pg.Client> })).toThrow(
        /pool is a "mysql" pool; PooledPostgresDialect needs a "postgres" one/,
      )
    } finally {
      await mysqlPool.destroy()
    }
  })
})

describe.each(testDatabases())('dialect behaviour on $dialect', (database) => {
  let schema: TestSchema

  beforeAll(async () => {
    schema = await createTestSchema(database, 'dialect')
  })

  afterAll(async () => {
    await schema?.drop()
  })

  it('exposes the pool from construction and destroys it with db.destroy()', async () => {
    const dialect = pooledDialect(schema, { pool: { name: 'kp-dialect-owned' } })
    expect(dialect.pool.name).toBe('kp-dialect-owned')
    const db = new Kysely({ dialect })
    await sql`select 1`.execute(db)
    expect(dialect.pool.stats().created).toBe(1)
    await db.destroy()
    expect(dialect.pool.closed).toBe(true)
  })

  it('shares a pool passed in, and leaves it open on db.destroy()', async () => {
    const pool =
      database.dialect === 'postgres'
        ? createPool(postgresConnector(database.url), { max: 2 })
        : createPool(mysqlConnector(database.url), { max: 2 })
    try {
      const dialect =
        database.dialect === 'postgres'
          ? new PooledPostgresDialect({ pool: pool as never, pipeline: pipelineVariant })
          : new PooledMysqlDialect({ pool: pool as never })
      expect(dialect.pool).toBe(pool)
      const first = new Kysely({ dialect })
      const second = new Kysely({ dialect })
      await sql`select 1`.execute(first)
      await first.destroy()
      expect(pool.closed).toBe(false)
      expect((await sql<{ one: number }>`select 1 as one`.execute(second)).rows).toEqual([{ one: 1 }])
      await second.destroy()
    } finally {
      await pool.destroy()
    }
  })

  it('runs onCreateConnection for each new session and onReserveConnection on each acquire', async () => {
    const created: DatabaseConnection[] = []
    const reserved: DatabaseConnection[] = []
    const dialect = pooledDialect(schema, {
      pool: { max: 1, reset: 'never' },
      onCreateConnection: async (connection) => {
        created.push(connection)
      },
      onReserveConnection: async (connection) => {
        reserved.push(connection)
      },
    })
    const db = new Kysely({ dialect })
    try {
      await sql`select 1`.execute(db)
      await sql`select 1`.execute(db)
      expect(created).toHaveLength(1)
      expect(reserved).toHaveLength(2)
    } finally {
      await db.destroy()
    }
  })

  it('keeps what onCreateConnection set up without resetting, and re-runs it after a reset', async () => {
    const timeZoneSql =
      database.dialect === 'postgres' ? "set time zone 'Pacific/Auckland'" : "set time_zone = '+12:00'"
    const readTimeZone =
      database.dialect === 'postgres'
        ? sql<{ tz: string }>`select current_setting('TimeZone') as tz`
        : sql<{ tz: string }>`select @@session.time_zone as tz`
    const userChange = database.dialect === 'postgres' ? sql`set statement_timeout = 12345` : sql`set @kp_user_var = 1`
    let runs = 0
    const dialect = pooledDialect(schema, {
      pool: { max: 1, reset: 'auto' },
      onCreateConnection: async (connection) => {
        runs++
        await connection.executeQuery(CompiledQuery.raw(timeZoneSql))
      },
    })
    const db = new Kysely({ dialect })
    try {
      const first = (await readTimeZone.execute(db)).rows[0]!.tz
      const second = (await readTimeZone.execute(db)).rows[0]!.tz
      expect(first).toMatch(/Auckland|\+12:00/)
      expect(second).toBe(first)
      // The hook's time zone is the session's baseline: no reset, no re-run.
      expect(runs).toBe(1)
      expect(dialect.pool.stats().resetOnRelease).toBe(0)

      // A borrower's own change is reset on release; the hook then runs again.
      await userChange.execute(db)
      const third = (await readTimeZone.execute(db)).rows[0]!.tz
      expect(dialect.pool.stats().resetOnRelease).toBe(1)
      expect(runs).toBe(2)
      expect(third).toBe(first)
    } finally {
      await db.destroy()
    }
  })

  it('closes a connection whose hook failed instead of leaking it', async () => {
    const dialect = pooledDialect(schema, {
      pool: { max: 1 },
      onReserveConnection: async () => {
        throw new Error('hook failed')
      },
    })
    const db = new Kysely({ dialect })
    try {
      await expect(sql`select 1`.execute(db)).rejects.toThrow('hook failed')
      expect(dialect.pool.stats().used).toBe(0)
      expect(dialect.pool.stats().destroyed).toBe(1)
    } finally {
      await db.destroy()
    }
  })

  it('passes the pool errors through unchanged', async () => {
    const dialect = pooledDialect(schema, { pool: { max: 1, acquireTimeoutMillis: 100 } })
    const db = new Kysely({ dialect })
    const trx = await db.startTransaction().execute()
    try {
      const error = await sql`select 1`.execute(db).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(PoolTimeoutError)
      expect((error as PoolTimeoutError).reason).toBe('pool-full')
    } finally {
      await trx.rollback().execute()
      await db.destroy()
    }
  })

  if (database.dialect === 'postgres') {
    it('raises AbortedTransactionError when COMMIT rolls back a failed transaction', async () => {
      const db = new Kysely({ dialect: pooledDialect(schema) })
      try {
        const trx = await db.startTransaction().execute()
        await expect(sql`select * from no_such_table`.execute(trx)).rejects.toThrow()
        const error = await trx
          .commit()
          .execute()
          .catch((e: unknown) => e)
        expect(error).toBeInstanceOf(AbortedTransactionError)
        expect(trx.isRolledBack).toBe(true)
      } finally {
        await db.destroy()
      }
    })

    it('asks for pg-cursor when streaming without one, like the stock dialect', async () => {
      const dialect = new PooledPostgresDialect({ connection: schema.connection, pool: { max: 1 } })
      const db = new Kysely({ dialect })
      try {
        const stream = sql`select 1`.compile(db)
        await expect(async () => {
          for await (const _ of db.getExecutor().stream(stream, 10)) {
            // unreachable
          }
        }).rejects.toThrow(/`cursor` is not present/)
        await expect.poll(() => dialect.pool.stats().used).toBe(0)
      } finally {
        await db.destroy()
      }
    })
  }
})
