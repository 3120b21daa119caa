import { sql, type Kysely } from 'kysely'
import type { ExampleDatabase } from '../shared/databases.js'
import { label, type DemoContext } from './demo-context.js'
import type { DemoDB } from './schema.js'
import { within } from './timing.js'

/**
 * Step 4: the bugs a pool usually hides, made visible. Each case prints
 * the numbers that prove the next borrower got a clean connection.
 */
export async function abandoned(ctx: DemoContext): Promise<void> {
  ctx.term.heading('4. Release hygiene: what a careless borrower leaves behind never reaches the next one')
  await ctx.forEachDatabase('revoked transaction', (database) => revokedTransaction(ctx, database))
  await ctx.forEachDatabase('returned mid-transaction', (database) => returnedMidTransaction(ctx, database))
  await ctx.forEachDatabase('session variable', (database) => sessionVariable(ctx, database))
}

/** A controlled transaction nobody commits: `maxLeaseMillis` takes the connection back and rolls it back. */
async function revokedTransaction(ctx: DemoContext, database: ExampleDatabase): Promise<void> {
  // Not scaled by speed: the transaction's own two statements must fit in it, even on a busy machine.
  const maxLeaseMillis = 300
  await ctx.withDb(database, 'max-lease', { max: 1, maxLeaseMillis }, async ({ db, pool }) => {
    const revoked = new Promise<void>((resolve) => pool.on('revoke', () => resolve()))
    const trx = await db.startTransaction().execute()
    await trx.insertInto('kp_demo_ledger').values({ note: 'never committed' }).execute()
    const insideBefore = await countLedger(trx)
    // …and the code that should commit or roll back never runs.
    await within(revoked, maxLeaseMillis * 10)

    let afterwards = 'still usable (unexpected)'
    try {
      await trx.selectFrom('kp_demo_ledger').select('id').execute()
    } catch (error) {
      afterwards = `throws ${(error as Error).name}`
    }
    await trx
      .rollback()
      .execute()
      .catch(() => {}) // lets Kysely forget the transaction
    const visible = await countLedger(db)
    ctx.term.line(
      `  ${label(database)}  transaction left open: rows inside it ${insideBefore}, revoked after ${maxLeaseMillis} ms,` +
        ` rows visible now ${ctx.term.green(String(visible))}; the abandoned handle ${afterwards} (revoked ${pool.stats().revoked})`,
    )
  })
}

/** `BEGIN` on a borrowed connection, then handing it back without COMMIT: the release rolls back. */
async function returnedMidTransaction(ctx: DemoContext, database: ExampleDatabase): Promise<void> {
  await ctx.withDb(database, 'mid-transaction', { max: 1 }, async ({ db, pool }) => {
    const first = await db.connection().execute(async (connection) => {
      await sql`begin`.execute(connection)
      await connection.insertInto('kp_demo_ledger').values({ note: 'half done' }).execute()
      return { id: await connectionId(connection, database), rows: await countLedger(connection) }
      // returned here without COMMIT: the connection goes back mid-transaction
    })
    const next = await db.connection().execute(async (connection) => ({
      id: await connectionId(connection, database),
      rows: await countLedger(connection),
    }))
    const same = first.id === next.id ? 'the same connection' : 'another connection'
    ctx.term.line(
      `  ${label(database)}  handed back inside BEGIN with ${first.rows} row; next borrower (${same}, #${next.id})` +
        ` sees ${ctx.term.green(String(next.rows))} rows (rolledBackOnRelease ${pool.stats().rolledBackOnRelease})`,
    )
  })
}

/** A session variable set by one borrower is gone for the next, on the same connection. */
async function sessionVariable(ctx: DemoContext, database: ExampleDatabase): Promise<void> {
  await ctx.withDb(database, 'session', { max: 1 }, async ({ db, pool }) => {
    const set = database.dialect === 'postgres' ? sql`set kp_demo.tenant = 'acme'` : sql`set @kp_demo_tenant = 'acme'`
    const first = await db.connection().execute(async (connection) => {
      await set.execute(connection)
      return readTenant(connection, database)
    })
    const next = await db.connection().execute((connection) => readTenant(connection, database))
    const same = first.id === next.id ? 'the same connection' : 'another connection'
    ctx.term.line(
      `  ${label(database)}  borrower 1 sets tenant = ${show(first.tenant)}; borrower 2 (${same}, #${next.id})` +
        ` reads tenant = ${ctx.term.green(show(next.tenant))} (resetOnRelease ${pool.stats().resetOnRelease})`,
    )
  })
}

async function countLedger(db: Kysely<DemoDB>): Promise<number> {
  const row = await db
    .selectFrom('kp_demo_ledger')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

async function connectionId(db: Kysely<DemoDB>, database: ExampleDatabase): Promise<number> {
  const query =
    database.dialect === 'postgres'
      ? sql<{ id: number }>`select pg_backend_pid() as id`
      : sql<{ id: number }>`select connection_id() as id`
  const { rows } = await query.execute(db)
  return Number(rows[0]!.id)
}

async function readTenant(
  db: Kysely<DemoDB>,
  database: ExampleDatabase,
): Promise<{ id: number; tenant: string | null }> {
  const query =
    database.dialect === 'postgres'
      ? sql<{ tenant: string | null }>`select current_setting('kp_demo.tenant', true) as tenant`
      : sql<{ tenant: string | null }>`select @kp_demo_tenant as tenant`
  const { rows } = await query.execute(db)
  return { id: await connectionId(db, database), tenant: rows[0]?.tenant ?? null }
}

/** An unset custom setting reads as NULL (MySQL, fresh PostgreSQL) or '' (PostgreSQL after a reset). */
function show(value: string | null): string {
  return value === null || value === '' ? '(unset)' : `'${value}'`
}
