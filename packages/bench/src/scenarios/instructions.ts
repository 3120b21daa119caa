import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { progress } from '../progress.js'

export type InstructionSubject = 'kysely-pooled' | 'kysely-pooled-no-leak-detection' | 'bare'

export interface InstructionsResult {
  /** Why nothing was measured (valgrind missing, a run failed); absent when measured. */
  readonly skipped?: string
  readonly tool: string
  /** Pairs in the measured run (the baseline run does none); both run `warmPairs` first. */
  readonly pairs: number
  readonly warmPairs: number
  /** Instructions per uncontended acquire + release pair, loop included. */
  readonly perPair: Partial<Record<InstructionSubject, number>>
  /** kysely-pooled minus the bare loop: the pool's own instructions per pair. */
  readonly poolPerPair?: number
  /**
   * The connectors' session sniff (`reset: 'auto'`) per clean statement of
   * a typed Kysely app's mix (loop included), per dialect.
   */
  readonly sniffPerStatement?: Partial<Record<SniffDialect, number>>
  /** Statements in the measured sniff run. */
  readonly sniffStatements?: number
}

export type SniffDialect = 'postgres' | 'mysql'

const CHILD = fileURLToPath(new URL('../instructions-child.js', import.meta.url))
const SNIFF_CHILD = fileURLToPath(new URL('../sniff-instructions-child.js', import.meta.url))
const SNIFF_STATEMENTS = 200_000
const SNIFF_WARM = 50_000
const PAIRS = 100_000
const WARM_PAIRS = 20_000
const VALGRIND_ARGS = ['--tool=callgrind', '--callgrind-out-file=/dev/null', '--smc-check=all-non-file']
// No background compiler or GC threads: the count is then the same run after run.
const NODE_ARGS = ['--single-threaded']

/**
 * Instructions per uncontended acquire + release pair on the fake
 * connector, counted by callgrind: a figure free of timing noise, so a
 * regression of the pool's hot path shows even on a busy machine. Each
 * subject runs twice — `WARM_PAIRS` then 0 or `PAIRS` pairs — and the
 * difference over `PAIRS` is the cost of one pair (Node's start-up and the
 * warm-up cancel out). `bare` is the same loop on a pool that does nothing.
 */
export async function measureInstructions(): Promise<InstructionsResult> {
  const base = { tool: 'valgrind --tool=callgrind', pairs: PAIRS, warmPairs: WARM_PAIRS, perPair: {} }
  let version: string
  try {
    version = (await run('valgrind', ['--version'])).stdout.trim()
  } catch {
    progress('instructions: valgrind not found (apt-get install valgrind); skipped')
    return { ...base, skipped: 'valgrind not installed' }
  }
  progress(
    `instructions: ${version}, ${PAIRS.toLocaleString('en-US')} pairs after ${WARM_PAIRS.toLocaleString('en-US')} warm-up pairs (about a minute)`,
  )
  const perPair: Partial<Record<InstructionSubject, number>> = {}
  try {
    for (const subject of ['kysely-pooled', 'kysely-pooled-no-leak-detection', 'bare'] as const) {
      // The two runs are independent: side by side on two cores.
      const [baseline, measured] = await Promise.all([count(subject, 0), count(subject, PAIRS)])
      perPair[subject] = Math.round((measured - baseline) / PAIRS)
      progress(`instructions: ${subject} ${perPair[subject]!.toLocaleString('en-US')} per pair`)
    }
  } catch (error) {
    progress(`instructions: ${(error as Error).message}; skipped`)
    return { ...base, tool: version, skipped: (error as Error).message }
  }
  const sniffPerStatement: Partial<Record<SniffDialect, number>> = {}
  try {
    for (const dialect of ['postgres', 'mysql'] as const) {
      const [baseline, measured] = await Promise.all([countSniff(dialect, 0), countSniff(dialect, SNIFF_STATEMENTS)])
      sniffPerStatement[dialect] = Math.round((measured - baseline) / SNIFF_STATEMENTS)
      progress(
        `instructions: ${dialect} session sniff ${sniffPerStatement[dialect]!.toLocaleString('en-US')} per statement`,
      )
    }
  } catch (error) {
    progress(`instructions: session sniff: ${(error as Error).message}; skipped`)
  }
  return {
    ...base,
    tool: version,
    perPair,
    poolPerPair: perPair['kysely-pooled']! - perPair.bare!,
    sniffPerStatement,
    sniffStatements: SNIFF_STATEMENTS,
  }
}

/** Instructions of the sniff child for `statements` clean statements after the warm-up. */
async function countSniff(dialect: SniffDialect, statements: number): Promise<number> {
  const { stderr } = await run('valgrind', [
    ...VALGRIND_ARGS,
    process.execPath,
    ...NODE_ARGS,
    SNIFF_CHILD,
    `--dialect=${dialect}`,
    `--warm=${SNIFF_WARM}`,
    `--statements=${statements}`,
  ])
  const match = /Collected\s*:\s*(\d+)/.exec(stderr)
  if (!match) throw new Error(`callgrind printed no instruction count for the ${dialect} sniff`)
  return Number(match[1])
}

async function count(subject: InstructionSubject, pairs: number): Promise<number> {
  const { stderr } = await run('valgrind', [
    ...VALGRIND_ARGS,
    process.execPath,
    ...NODE_ARGS,
    CHILD,
    `--pool=${subject}`,
    `--warm=${WARM_PAIRS}`,
    `--pairs=${pairs}`,
  ])
  const match = /Collected\s*:\s*(\d+)/.exec(stderr)
  if (!match) {
    throw new Error(
      `callgrind printed no instruction count for ${subject}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`,
    )
  }
  return Number(match[1])
}

function run(command: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 }, (error, stdout, stderr) => {
      if (error) reject(error)
      else resolve({ stdout, stderr })
    })
  })
}
