/** How long and how often each measurement runs. */
export interface BenchSettings {
  readonly mode: 'quick' | 'full'
  /** Rounds per scenario; contenders are interleaved within each round. */
  readonly rounds: number
  /** Throughput: measured window per (round, concurrency, contender). */
  readonly windowMillis: number
  /** Throughput: unmeasured run before each window (connections opened, JIT warm). */
  readonly warmupMillis: number
  readonly concurrencies: readonly number[]
  readonly transactionConcurrencies: readonly number[]
  /** Hygiene: releases per measured run (reported per 10,000). */
  readonly hygieneReleases: number
  /** Pool overhead: measured window per run. */
  readonly overheadWindowMillis: number
  readonly warmUpRounds: number
  readonly exhaustionRounds: number
  readonly databases: readonly DatabaseId[]
  readonly scenarios: readonly ScenarioId[]
}

export type DatabaseId = 'postgres' | 'mariadb'
export type ScenarioId =
  'throughput' | 'transactions' | 'head-of-line' | 'hygiene' | 'overhead' | 'instructions' | 'warmup' | 'exhaustion'
export const ALL_SCENARIOS: readonly ScenarioId[] = [
  'overhead',
  'instructions',
  'exhaustion',
  'throughput',
  'transactions',
  'head-of-line',
  'hygiene',
  'warmup',
]
export const ALL_DATABASES: readonly DatabaseId[] = ['postgres', 'mariadb']

/** The pool size every contender runs with. */
export const POOL_MAX = 10

// Quick windows are long enough for CPU per operation to settle (GC and
// JIT amortised): within 10 % of full mode's; throughput stays rougher.
const QUICK = {
  mode: 'quick',
  rounds: 3,
  windowMillis: 500,
  warmupMillis: 150,
  concurrencies: [1, 16, 64, 256],
  transactionConcurrencies: [16, 64],
  hygieneReleases: 500,
  overheadWindowMillis: 300,
  warmUpRounds: 3,
  exhaustionRounds: 2,
} as const

const FULL = {
  mode: 'full',
  rounds: 6,
  windowMillis: 1_000,
  warmupMillis: 250,
  concurrencies: [1, 16, 64, 256],
  transactionConcurrencies: [1, 16, 64, 256],
  hygieneReleases: 10_000,
  overheadWindowMillis: 1_000,
  warmUpRounds: 7,
  exhaustionRounds: 5,
} as const

/** Bad command-line input: printed as one line plus the usage, never as a stack trace. */
export class BenchUsageError extends Error {}

export const USAGE = `usage: pnpm bench [--quick] [--only=${ALL_SCENARIOS.join(',')}] [--db=postgres,mariadb]`

export function parseSettings(argv: readonly string[]): BenchSettings {
  let quick = false
  let scenarios: readonly ScenarioId[] = ALL_SCENARIOS
  let databases: readonly DatabaseId[] = ALL_DATABASES
  for (const arg of argv) {
    if (arg === '--quick') {
      quick = true
    } else if (arg === '--full') {
      quick = false
    } else if (arg.startsWith('--only=')) {
      scenarios = pickList(arg.slice('--only='.length), ALL_SCENARIOS)
    } else if (arg.startsWith('--db=')) {
      databases = pickList(arg.slice('--db='.length), ALL_DATABASES)
    } else if (arg === '--help' || arg === '-h') {
      process.stderr.write(`${USAGE}\n`)
      process.exit(0)
    } else if (arg !== '--') {
      throw new BenchUsageError(`unknown argument ${JSON.stringify(arg)}`)
    }
  }
  return Object.freeze({ ...(quick ? QUICK : FULL), databases, scenarios })
}

function pickList<T extends string>(value: string, allowed: readonly T[]): readonly T[] {
  const picked = value.split(',').filter((v) => v.length > 0)
  for (const item of picked) {
    if (!allowed.includes(item as T)) {
      throw new BenchUsageError(`unknown value ${JSON.stringify(item)}; expected one of ${allowed.join(', ')}`)
    }
  }
  return picked as T[]
}
