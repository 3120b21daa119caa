import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { hasExposedGc } from './closed-loop.js'
import { ALL_CONTENDERS } from './contenders/all-contenders.js'
import type { Contender } from './contenders/contender.js'
import { kyselyPooled, kyselyPooledPipeline } from './contenders/kysely-pooled.js'
import { stockKysely } from './contenders/stock-kysely.js'
import { assertLoopback, databaseTarget, prepareDatabase, redactUrl } from './databases.js'
import { oursOnFake, oursOnFakeNoLeakDetection, pgPoolOnFake, tarnOnFake } from './fake/fake-pools.js'
import { currentLoadAverage, describeMachine } from './machine.js'
import { elapsedSeconds, progress } from './progress.js'
import { renderMarkdown } from './report/markdown.js'
import { throughputChart } from './report/svg.js'
import type { BenchResults } from './results.js'
import { measureExhaustion, type ExhaustionResult } from './scenarios/exhaustion.js'
import { measureHeadOfLine, type HeadOfLineResult } from './scenarios/head-of-line.js'
import { measureHygiene, type HygieneResult } from './scenarios/hygiene.js'
import { measureInstructions, type InstructionsResult } from './scenarios/instructions.js'
import { measurePoolOverhead, type OverheadResult } from './scenarios/pool-overhead.js'
import { measureThroughput, type ThroughputResult } from './scenarios/throughput.js'
import { measureWarmUp, type WarmUpResult } from './scenarios/warm-up.js'
import { ALL_DATABASES, ALL_SCENARIOS, BenchUsageError, parseSettings, USAGE, type BenchSettings } from './settings.js'
import { checkTargets } from './targets.js'

const PACKAGE_ROOT = new URL('../', import.meta.url)
const RESULTS_DIR = new URL('results/', PACKAGE_ROOT)
const REPO_ROOT = new URL('../../', PACKAGE_ROOT)
const CHART_FROM_REPO_ROOT = 'packages/bench/results/throughput.svg'

/** Head-of-line: exclusive mode, pipeline mode, and the stock dialect for reference. */
const HEAD_OF_LINE_CONTENDERS: readonly Contender[] = [kyselyPooled, kyselyPooledPipeline, stockKysely]
const FAKE_POOLS = [oursOnFake, tarnOnFake, pgPoolOnFake] as const
// The overhead scenario also shows what the default leak detection costs.
const OVERHEAD_POOLS = [oursOnFake, oursOnFakeNoLeakDetection, tarnOnFake, pgPoolOnFake] as const

quietKnownDeprecation()
const settings = parseArguments(process.argv.slice(2))
if (!hasExposedGc()) {
  progress('warning: run with node --expose-gc (pnpm bench does); heap figures and between-run GCs are off')
}
progress(
  `mode ${settings.mode}: scenarios ${settings.scenarios.join(', ')}; databases ${settings.databases.join(', ')}`,
)

const targets = settings.databases.map(databaseTarget)
const servers: Record<string, string> = {}
for (const target of targets) {
  assertLoopback(target)
  try {
    servers[target.id] = await prepareDatabase(target)
  } catch (error) {
    throw new Error(`${target.label} at ${redactUrl(target.url)} is not usable: ${(error as Error).message}`, {
      cause: error,
    })
  }
  progress(`${target.label}: ${servers[target.id]} ready, kp_bench_item filled`)
}
const machine = describeMachine(servers)
progress(`machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAverageStart}`)

const wants = (scenario: (typeof settings.scenarios)[number]) => settings.scenarios.includes(scenario)
let overhead: OverheadResult | undefined
let instructions: InstructionsResult | undefined
let exhaustion: ExhaustionResult | undefined
const throughput: ThroughputResult[] = []
const transactions: ThroughputResult[] = []
const headOfLine: HeadOfLineResult[] = []
const hygiene: HygieneResult[] = []
const warmUp: WarmUpResult[] = []

if (wants('overhead')) overhead = await measurePoolOverhead(OVERHEAD_POOLS, settings)
if (wants('instructions')) instructions = await measureInstructions()
if (wants('exhaustion')) exhaustion = await measureExhaustion(FAKE_POOLS, settings)
for (const target of targets) {
  if (wants('throughput'))
    throughput.push(await measureThroughput(target, 'point-select', ALL_CONTENDERS, settings.concurrencies, settings))
  if (wants('transactions')) {
    transactions.push(
      await measureThroughput(target, 'transaction', ALL_CONTENDERS, settings.transactionConcurrencies, settings),
    )
  }
  if (wants('head-of-line') && target.id === 'postgres') {
    headOfLine.push(await measureHeadOfLine(target, HEAD_OF_LINE_CONTENDERS, settings))
  }
  if (wants('hygiene')) hygiene.push(await measureHygiene(target, settings))
  if (wants('warmup')) warmUp.push(await measureWarmUp(target, settings))
}

machine.loadAverageEnd = currentLoadAverage()
const measured = {
  generatedAt: new Date().toISOString(),
  durationSeconds: Math.round(elapsedSeconds()),
  settings,
  machine,
  throughput,
  transactions,
  headOfLine,
  hygiene,
  ...(overhead ? { overhead } : {}),
  ...(instructions ? { instructions } : {}),
  warmUp,
  ...(exhaustion ? { exhaustion } : {}),
}
const results: BenchResults = { ...measured, targets: checkTargets(measured) }

await mkdir(RESULTS_DIR, { recursive: true })
// A narrowed run (--only, --db) must not overwrite the published report with half of it.
const complete =
  settings.scenarios.length === ALL_SCENARIOS.length && settings.databases.length === ALL_DATABASES.length
const jsonFile = new URL(complete ? 'latest.json' : 'partial.json', RESULTS_DIR)
await writeFile(jsonFile, `${JSON.stringify(results, null, 2)}\n`)
if (complete) {
  await writeFile(
    new URL('throughput.svg', RESULTS_DIR),
    throughputChart(throughput, 'Point-select throughput through Kysely vs concurrency'),
  )
  await writeFile(new URL('BENCHMARKS.md', REPO_ROOT), renderMarkdown(results, CHART_FROM_REPO_ROOT))
  progress(
    `wrote ${fileURLToPath(jsonFile)}, ${fileURLToPath(new URL('throughput.svg', RESULTS_DIR))} and ${fileURLToPath(new URL('BENCHMARKS.md', REPO_ROOT))}`,
  )
} else {
  progress(
    `narrowed run: wrote ${fileURLToPath(jsonFile)} only (BENCHMARKS.md and latest.json are written by complete runs)`,
  )
}

for (const check of results.targets) {
  const status = check.met === null ? 'n/a ' : check.met ? 'MET ' : 'MISS'
  process.stdout.write(`${status}  ${check.target}: ${check.measured}\n`)
}

/**
 * The raw-driver ceiling queues calls on a busy pg Client on purpose (that
 * is what makes it a ceiling); pg 8 warns about it once. Every other
 * warning is still printed.
 */
function quietKnownDeprecation(): void {
  process.removeAllListeners('warning')
  process.on('warning', (warning) => {
    if (warning.name === 'DeprecationWarning' && warning.message.includes('client is already executing a query')) return
    process.stderr.write(`${warning.name}: ${warning.message}\n`)
  })
}

function parseArguments(argv: readonly string[]): BenchSettings {
  try {
    return parseSettings(argv)
  } catch (error) {
    if (error instanceof BenchUsageError) {
      process.stderr.write(`bench: ${error.message}\n${USAGE}\n`)
      process.exit(2)
    }
    throw error
  }
}
