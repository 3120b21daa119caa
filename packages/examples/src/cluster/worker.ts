import { sql } from 'kysely'
import { createPooledKysely } from '../shared/dialect.js'
import { databaseAt } from '../shared/databases.js'
import { WORKER_SETTINGS_VARIABLE, type GoMessage, type WorkerMessage, type WorkerSettings } from './messages.js'

/**
 * One cluster worker: its own pool, sized by the primary. On "go" it runs
 * more concurrent users than its pool has connections for a while, so the
 * pool fills to its max, then reports and exits.
 */
async function runWorker(): Promise<void> {
  const settings = JSON.parse(process.env[WORKER_SETTINGS_VARIABLE] ?? 'null') as WorkerSettings | null
  if (settings === null) throw new Error(`${WORKER_SETTINGS_VARIABLE} is not set: start the cluster from main.js`)
  const send = (message: WorkerMessage): void => void process.send?.(message)

  const { db, pool } = createPooledKysely(
    databaseAt(settings.dialect, settings.url),
    { max: settings.poolMax, acquireTimeoutMillis: 10_000, name: `worker-${process.pid}` },
    settings.pooler,
  )
  try {
    await new Promise<void>((resolve) => {
      process.on('message', (message: GoMessage) => {
        if (message.type === 'go') resolve()
      })
      send({ type: 'ready', max: pool.config.max })
    })

    const query = settings.dialect === 'postgres' ? sql`select pg_sleep(0.02)` : sql`select sleep(0.02)`
    let peakSize = 0
    let queries = 0
    const sampler = setInterval(() => (peakSize = Math.max(peakSize, pool.stats().size)), 5)
    const end = performance.now() + settings.burstMillis
    await Promise.all(
      Array.from({ length: settings.users }, async () => {
        while (performance.now() < end) {
          await query.execute(db)
          queries++
        }
      }),
    )
    clearInterval(sampler)
    peakSize = Math.max(peakSize, pool.stats().size)
    send({ type: 'done', max: pool.config.max, peakSize, queries })
  } finally {
    await db.destroy()
  }
}

runWorker().then(
  () => process.disconnect?.(),
  (error: unknown) => {
    process.send?.({
      type: 'failed',
      message: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error),
    } satisfies WorkerMessage)
    process.exitCode = 1
    process.disconnect?.()
  },
)
