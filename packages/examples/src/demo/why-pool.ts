import { createPool } from '@kysely-pooled/core'
import { rawQuery } from '../shared/raw-query.js'
import { connectorFor } from '../shared/reachability.js'
import { label, type DemoContext } from './demo-context.js'
import { formatMillis, meanMillis } from './timing.js'

const QUERIES = 40

/**
 * Step 1: what a pool saves. The same trivial query, one after another:
 * opening and closing a connection for each, then borrowing one from a pool.
 */
export async function whyPool(ctx: DemoContext): Promise<void> {
  ctx.term.heading(`1. Why pool: ${QUERIES} × SELECT 1, a new connection for each vs a pooled one`)
  await ctx.forEachDatabase('why pool', async (database) => {
    const connector = connectorFor(database)
    const unpooled = await meanMillis(QUERIES, async () => {
      const handle = await connector.connect({ timeoutMillis: 5_000 })
      try {
        await rawQuery(database.dialect, handle.client, 'SELECT 1')
      } finally {
        await handle.close()
      }
    })

    const pool = createPool(connector, { max: 1, name: `${database.dialect}/why-pool` })
    try {
      const query = () => pool.use((connection) => rawQuery(database.dialect, connection, 'SELECT 1'))
      await query() // the pool opens its one connection here, once
      const pooled = await meanMillis(QUERIES, query)
      ctx.term.line(
        `  ${label(database)}  new connection ${formatMillis(unpooled).padStart(8)}/query` +
          `   pooled ${formatMillis(pooled).padStart(8)}/query   ` +
          ctx.term.green(`${(unpooled / pooled).toFixed(0)}× less`),
      )
    } finally {
      ctx.record(database, pool)
      await pool.destroy()
    }
  })
}
