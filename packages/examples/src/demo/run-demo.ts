import type { Kysely } from 'kysely'
import { exampleDatabases, type ExampleDatabase } from '../shared/databases.js'
import { createPooledKysely } from '../shared/dialect.js'
import { checkReachable, howToReach } from '../shared/reachability.js'
import { abandoned } from './abandoned.js'
import { burst } from './burst.js'
import { DemoContext } from './demo-context.js'
import { dropDemoTables, type DemoDB } from './schema.js'
import { summary } from './summary.js'
import { Terminal, type OutputStream } from './terminal.js'
import { since } from './timing.js'
import { typedQueries } from './typed-queries.js'
import { whyPool } from './why-pool.js'

export interface DemoOptions {
  readonly databases?: readonly ExampleDatabase[]
  readonly out?: OutputStream
  readonly env?: NodeJS.ProcessEnv
  /** Runs the timed parts this many times faster (the tests use 3). */
  readonly speed?: number
}

/**
 * The demo. Resolves the exit code: 0 when every step ran on at least one
 * database, 1 when no database was reachable or a step failed. An
 * unreachable database is explained in one paragraph and skipped.
 */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const env = options.env ?? process.env
  const term = new Terminal(options.out ?? process.stdout, env)
  const start = performance.now()
  const candidates = options.databases ?? exampleDatabases(env)

  term.line(term.bold('kysely-pooled demo'))
  const reachable: ExampleDatabase[] = []
  for (const database of candidates) {
    const check = await checkReachable(database)
    if (check.ok) {
      reachable.push(database)
      term.line(`  ${database.label.padEnd(10)}  ${database.displayUrl}`)
    } else {
      term.line()
      term.line(term.yellow(howToReach(database, check.reason)))
    }
  }
  if (reachable.length === 0) {
    term.line()
    term.line(term.red('No database to run against; nothing was run.'))
    return 1
  }
  if (reachable.length < candidates.length) {
    term.line(`Continuing with ${reachable.map((d) => d.label).join(' and ')}.`)
  }

  const ctx = new DemoContext(term, reachable, options.speed ?? 1)
  try {
    await whyPool(ctx)
    await typedQueries(ctx)
    await burst(ctx)
    await abandoned(ctx)
    summary(ctx)
  } finally {
    await cleanUp(reachable)
  }
  term.line()
  term.line(term.dim(`done in ${(since(start) / 1000).toFixed(1)} s; tables kp_demo_* dropped.`))
  return ctx.failed ? 1 : 0
}

async function cleanUp(databases: readonly ExampleDatabase[]): Promise<void> {
  for (const database of databases) {
    const { db } = createPooledKysely<DemoDB>(database, { max: 1, name: `${database.dialect}/cleanup` })
    await dropDemoTables(db as Kysely<DemoDB>).catch(() => {})
    await db.destroy()
  }
}
