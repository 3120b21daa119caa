import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { exampleDatabase, withoutPassword } from '../shared/databases.js'
import { formatPgBouncerReport, runPgBouncerCluster } from './pgbouncer-primary.js'
import { formatClusterReport, runClusterPrimary } from './primary.js'

// pnpm --filter @kysely-pooled/examples cluster [-- --workers 4 --db mysql --concurrency 4 --json]
// Behind PgBouncer (transaction mode; PG_URL is the server itself, for counting):
// pnpm --filter @kysely-pooled/examples cluster -- --pgbouncer postgres://…:6432/app --workers 3 --max 4
const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: String(Math.min(4, availableParallelism())) },
    db: { type: 'string', default: 'postgres' },
    concurrency: { type: 'string', default: '4' },
    'burst-ms': { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
    pgbouncer: { type: 'string' },
    max: { type: 'string', default: '4' },
  },
})

const database = exampleDatabase(values.db === 'mysql' ? 'mysql' : 'postgres')
try {
  if (values.pgbouncer !== undefined) {
    const report = await runPgBouncerCluster({
      server: exampleDatabase('postgres'),
      pgbouncerUrl: values.pgbouncer,
      workers: Number(values.workers),
      poolMax: Number(values.max),
      burstMillis: Number(values['burst-ms']),
    })
    console.log(
      values.json
        ? JSON.stringify(report)
        : formatPgBouncerReport(report, withoutPassword(values.pgbouncer)).join('\n'),
    )
    process.exitCode = report.peakServerConnections <= report.poolSize ? 0 : 1
  } else {
    const report = await runClusterPrimary({
      database,
      workers: Number(values.workers),
      concurrency: Number(values.concurrency),
      headroomRatio: 0.2,
      burstMillis: Number(values['burst-ms']),
    })
    console.log(values.json ? JSON.stringify(report) : formatClusterReport(report, database.displayUrl).join('\n'))
    process.exitCode = report.peakServerConnections <= report.budget ? 0 : 1
  }
} catch (error) {
  console.error(`cluster: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`)
  process.exitCode = 1
}
