// The pattern to copy: one test file, run against PostgreSQL, MySQL, and
// PostgreSQL through PgBouncer in transaction mode.
//
// testTargets() reads PG_URL / MYSQL_URL (local defaults otherwise) and
// PGBOUNCER_URL, and returns one entry per target; describe.each runs the
// whole suite once per entry. The only per-target code is the dialect class,
// its `pooler`, and DDL spelling. (testDatabases() gives the two databases only.)
import { assertAvailable, testTargets, type TestTarget } from '@kysely-pooled/core/testing'
import { Kysely, sql, type Generated } from 'kysely'
import { PooledMysqlDialect, PooledPostgresDialect } from 'kysely-pooled'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

interface DB {
  kp_ex_accounts: { id: Generated<number>; owner: string; balance_cents: number }
}

function createDb({ dialect, url, pooler }: TestTarget): Kysely<DB> {
  // A small pool: tests rarely need more, and test servers are shared.
  const pool = { max: 3, acquireTimeoutMillis: 5_000 }
  return new Kysely<DB>({
    dialect:
      dialect === 'postgres'
        ? new PooledPostgresDialect({ connection: url, pool, pooler })
        : new PooledMysqlDialect({ connection: url, pool }),
  })
}

describe.each(testTargets())('accounts on $target ($displayUrl)', (database) => {
  let db: Kysely<DB>

  beforeAll(async () => {
    assertAvailable(database) // a target that cannot run here fails, saying why
    db = createDb(database)
    await db.schema.dropTable('kp_ex_accounts').ifExists().execute()
    await db.schema
      .createTable('kp_ex_accounts')
      .addColumn('id', database.dialect === 'postgres' ? 'serial' : 'integer', (c) =>
        database.dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn('owner', 'varchar(50)', (c) => c.notNull().unique())
      .addColumn('balance_cents', 'integer', (c) => c.notNull())
      .execute()
  })

  beforeEach(async () => {
    await db.deleteFrom('kp_ex_accounts').execute()
    await db
      .insertInto('kp_ex_accounts')
      .values([
        { owner: 'ada', balance_cents: 10_000 },
        { owner: 'grace', balance_cents: 500 },
      ])
      .execute()
  })

  afterAll(async () => {
    if (db === undefined) return
    await db.schema.dropTable('kp_ex_accounts').ifExists().execute()
    await db.destroy() // always: the pool's connections are server slots
  })

  const balances = async () =>
    Object.fromEntries(
      (await db.selectFrom('kp_ex_accounts').select(['owner', 'balance_cents']).orderBy('owner').execute()).map((r) => [
        r.owner,
        Number(r.balance_cents),
      ]),
    )

  async function transfer(from: string, to: string, cents: number): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('kp_ex_accounts')
        .set((eb) => ({ balance_cents: eb('balance_cents', '-', cents) }))
        .where('owner', '=', from)
        .execute()
      const { balance_cents } = await trx
        .selectFrom('kp_ex_accounts')
        .select('balance_cents')
        .where('owner', '=', from)
        .executeTakeFirstOrThrow()
      if (Number(balance_cents) < 0) throw new Error(`${from} cannot afford ${cents}`)
      await trx
        .updateTable('kp_ex_accounts')
        .set((eb) => ({ balance_cents: eb('balance_cents', '+', cents) }))
        .where('owner', '=', to)
        .execute()
    })
  }

  it('commits a transfer', async () => {
    await transfer('ada', 'grace', 2_500)
    expect(await balances()).toEqual({ ada: 7_500, grace: 3_000 })
  })

  it('rolls back a transfer that fails half-way', async () => {
    await expect(transfer('grace', 'ada', 9_999)).rejects.toThrow('grace cannot afford 9999')
    expect(await balances()).toEqual({ ada: 10_000, grace: 500 })
  })

  it('runs concurrent transfers on a small pool without losing money', async () => {
    await Promise.all(Array.from({ length: 10 }, () => transfer('ada', 'grace', 100)))
    expect(await balances()).toEqual({ ada: 9_000, grace: 1_500 })
  })

  it('gives every test a clean session, even after one changed it', async () => {
    const setting = database.dialect === 'postgres' ? sql`set kp_ex.who = 'test'` : sql`set @kp_ex_who = 'test'`
    const change = db.connection().execute((connection) => setting.execute(connection))
    if (database.pooler === 'transaction') {
      // Behind a transaction pooler the server session is shared: refused before it is sent.
      await expect(change).rejects.toMatchObject({ code: 'POOL_SESSION_STATE' })
    } else {
      await change
    }
    const read =
      database.dialect === 'postgres'
        ? sql<{ v: string | null }>`select current_setting('kp_ex.who', true) as v`
        : sql<{ v: string | null }>`select @kp_ex_who as v`
    // Every connection of the pool, at once: none of them may still carry the setting.
    const values = await Promise.all(
      Array.from({ length: 3 }, () => read.execute(db).then((r) => r.rows[0]?.v ?? null)),
    )
    expect(values).toHaveLength(3)
    for (const value of values) expect(value).not.toBe('test')
  })
})
