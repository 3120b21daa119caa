import { exampleDatabase } from '../shared/databases.js'
import { collectPoolMetrics, formatMetricLines } from './otel-metrics.js'

// pnpm --filter @kysely-pooled/examples otel-metrics   (OTEL_DB=mysql for MySQL)
const database = exampleDatabase(process.env.OTEL_DB === 'mysql' ? 'mysql' : 'postgres')
console.log(`db.client.connection.* metrics of a pool on ${database.label} (${database.displayUrl}):\n`)
for (const line of formatMetricLines(await collectPoolMetrics(database))) {
  console.log(line)
}
