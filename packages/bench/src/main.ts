import { knexContender } from './contenders/knex.js'
import { kyselyCeiling, rawCeiling } from './contenders/ceilings.js'
import { stockKysely } from './contenders/stock-kysely.js'
import { databaseTarget, prepareDatabase } from './databases.js'
import { measureThroughput } from './scenarios/throughput.js'
import { parseSettings } from './settings.js'

const settings = parseSettings(process.argv.slice(2))
for (const id of settings.databases) {
  const target = databaseTarget(id)
  console.log(await prepareDatabase(target))
  const r = await measureThroughput(target, 'point-select', [stockKysely, knexContender, kyselyCeiling, rawCeiling], settings.concurrencies, settings)
  console.log(JSON.stringify(r.rows.map((row) => [row.contender, row.concurrency, Math.round(row.opsPerSecond.median), row.ratioToStock.median.toFixed(2), row.errors, row.firstError])))
  const t = await measureThroughput(target, 'transaction', [stockKysely, knexContender, kyselyCeiling, rawCeiling], settings.transactionConcurrencies, settings)
  console.log(JSON.stringify(t.rows.map((row) => [row.contender, row.concurrency, Math.round(row.opsPerSecond.median), row.ratioToStock.median.toFixed(2), row.errors, row.firstError])))
}
