import { runClosedLoop } from './closed-loop.js'
import { ALL_CONTENDERS } from './contenders/all-contenders.js'
import { assertLoopback, databaseTarget, idSequence, prepareDatabase } from './databases.js'
import { POOL_MAX, type DatabaseId } from './settings.js'

/**
 * One contender, one operation, one concurrency, for a while: the workload
 * to run under `node --cpu-prof` when a CPU-per-operation cell needs
 * explaining. Prints the CPU per operation of each window.
 *
 *   node --cpu-prof dist/profile.js --contender=kysely-pooled --db=postgres --op=point-select --c=16 --seconds=5
 */

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=')
    return [key!, value ?? '']
  }),
)
const contender = ALL_CONTENDERS.find((c) => c.id === (args.get('contender') ?? 'kysely-pooled'))
const db = (args.get('db') ?? 'postgres') as DatabaseId
const op = args.get('op') ?? 'point-select'
const concurrency = Number(args.get('c') ?? 16)
const seconds = Number(args.get('seconds') ?? 5)
if (
  !contender ||
  !['postgres', 'mariadb'].includes(db) ||
  !['point-select', 'transaction'].includes(op) ||
  !(concurrency > 0)
) {
  process.stderr.write(
    `usage: profile.js --contender=${ALL_CONTENDERS.map((c) => c.id).join('|')} --db=postgres|mariadb --op=point-select|transaction --c=16 --seconds=5\n`,
  )
  process.exit(2)
}

const target = databaseTarget(db)
assertLoopback(target)
await prepareDatabase(target)
const session = await contender.open(target, POOL_MAX)
try {
  const nextId = idSequence(concurrency * 7919 + 1)
  const run = op === 'point-select' ? () => session.pointSelect(nextId()) : () => session.updateInTransaction(nextId())
  await runClosedLoop(run, concurrency, 500)
  for (let window = 0; window < seconds; window++) {
    const result = await runClosedLoop(run, concurrency, 1_000)
    process.stdout.write(
      `${contender.id} ${db} ${op} c=${concurrency}: ${result.cpuMicrosPerOperation.toFixed(1)} µs CPU/op, ${Math.round(result.operationsPerSecond)} ops/s${result.errors ? `, ${result.errors} errors` : ''}\n`,
    )
  }
} finally {
  await session.close()
}
