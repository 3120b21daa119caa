import { label, type DemoContext } from './demo-context.js'
import { createDemoTables } from './schema.js'

/**
 * Step 2: a typed schema, inserts, a join and a transaction through the
 * pooled dialects: the Kysely code is the same for both databases.
 */
export async function typedQueries(ctx: DemoContext): Promise<void> {
  ctx.term.heading('2. Typed queries through PooledPostgresDialect / PooledMysqlDialect')
  await ctx.forEachDatabase('typed queries', async (database) => {
    await ctx.withDb(database, 'typed', { max: 2 }, async ({ db }) => {
      await createDemoTables(db, database.dialect)

      await db
        .insertInto('kp_demo_users')
        .values([
          { name: 'Ada', email: 'ada@example.com' },
          { name: 'Grace', email: 'grace@example.com' },
          { name: 'Edsger', email: 'edsger@example.com' },
        ])
        .execute()
      const users = await db.selectFrom('kp_demo_users').select(['id', 'name']).orderBy('id').execute()
      const id = (name: string) => users.find((u) => u.name === name)!.id

      // All or nothing: the orders of one checkout go in one transaction.
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('kp_demo_orders')
          .values([
            { user_id: id('Ada'), total_cents: 2_500 },
            { user_id: id('Ada'), total_cents: 4_750 },
            { user_id: id('Grace'), total_cents: 999 },
            { user_id: id('Edsger'), total_cents: 1_200 },
            { user_id: id('Edsger'), total_cents: 1_900 },
          ])
          .execute()
      })

      const revenue = await db
        .selectFrom('kp_demo_orders as o')
        .innerJoin('kp_demo_users as u', 'u.id', 'o.user_id')
        .select((eb) => [
          'u.name',
          eb.fn.countAll<number | string>().as('orders'),
          eb.fn.sum<number | string>('o.total_cents').as('cents'),
        ])
        .groupBy('u.name')
        .orderBy('cents', 'desc')
        .execute()

      const summary = revenue
        .map((r) => `${r.name} ${(Number(r.cents) / 100).toFixed(2)} (${Number(r.orders)})`)
        .join(', ')
      ctx.term.line(`  ${label(database)}  ${users.length} users, 5 orders in one transaction; revenue: ${summary}`)
    })
  })
}
