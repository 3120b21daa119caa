import { collectGarbage, rotate, runClosedLoop } from '../closed-loop.js'
import type { Contender, ContenderId } from '../contenders/contender.js'
import { idSequence, type DatabaseTarget } from '../databases.js'
import { progress } from '../progress.js'
import { POOL_MAX, type BenchSettings, type DatabaseId } from '../settings.js'
import { summarize, type Summary } from '../statistics.js'

export type ThroughputOperation = 'point-select' | 'transaction'

export interface ThroughputRow {
  readonly contender: ContenderId
  readonly label: string
  readonly concurrency: number
  /** Operations per second, one sample per round. */
  readonly opsPerSecond: Summary
  /** Per round: this contender's ops/s over the stock dialect's in the same round. */
  readonly ratioToStock: Summary
  readonly errors: number
  readonly firstError?: string
}

export interface ThroughputResult {
  readonly database: DatabaseId
  readonly operation: ThroughputOperation
  readonly poolMax: number
  readonly concurrencies: readonly number[]
  readonly rows: readonly ThroughputRow[]
}

/**
 * Every (round, concurrency) slot runs each contender once, in a rotated
 * order, on a freshly opened pool that is closed right after: contenders
 * share the machine's drift equally and no pool outlives its slot.
 */
export async function measureThroughput(
  target: DatabaseTarget,
  operation: ThroughputOperation,
  contenders: readonly Contender[],
  concurrencies: readonly number[],
  settings: BenchSettings,
): Promise<ThroughputResult> {
  const samples = new Map<string, number[]>()
  const errors = new Map<string, { count: number; first?: string }>()
  const key = (contender: ContenderId, concurrency: number) => `${contender}@${concurrency}`

  progress(`${target.label} ${operation}: warm-up pass (every contender, concurrency 16)`)
  for (const contender of contenders) {
    await runSlot(target, operation, contender, 16, settings.warmupMillis, settings.warmupMillis)
  }

  for (let round = 0; round < settings.rounds; round++) {
    for (const [index, concurrency] of concurrencies.entries()) {
      const line: string[] = []
      for (const contender of rotate(contenders, round + index)) {
        const result = await runSlot(target, operation, contender, concurrency, settings.warmupMillis, settings.windowMillis)
        const k = key(contender.id, concurrency)
        samples.set(k, [...(samples.get(k) ?? []), result.operationsPerSecond])
        if (result.errors > 0) {
          const seen = errors.get(k) ?? { count: 0 }
          errors.set(k, { count: seen.count + result.errors, first: seen.first ?? describeError(result.firstError) })
        }
        line.push(`${contender.id} ${Math.round(result.operationsPerSecond)}`)
      }
      progress(`${target.label} ${operation} round ${round + 1}/${settings.rounds} c=${concurrency}: ${line.join(', ')} ops/s`)
    }
  }

  const rows: ThroughputRow[] = []
  for (const contender of contenders) {
    for (const concurrency of concurrencies) {
      const own = samples.get(key(contender.id, concurrency)) ?? []
      const stock = samples.get(key('stock', concurrency)) ?? []
      const ratios = own.map((value, round) => value / (stock[round] ?? Number.NaN))
      const error = errors.get(key(contender.id, concurrency))
      rows.push({
        contender: contender.id,
        label: contender.label(target),
        concurrency,
        opsPerSecond: summarize(own),
        ratioToStock: summarize(ratios),
        errors: error?.count ?? 0,
        ...(error?.first ? { firstError: error.first } : {}),
      })
    }
  }
  return { database: target.id, operation, poolMax: POOL_MAX, concurrencies, rows }
}

async function runSlot(
  target: DatabaseTarget,
  operation: ThroughputOperation,
  contender: Contender,
  concurrency: number,
  warmupMillis: number,
  windowMillis: number,
) {
  const session = await contender.open(target, POOL_MAX)
  try {
    const nextId = idSequence(concurrency * 7919 + 1)
    const run =
      operation === 'point-select'
        ? () => session.pointSelect(nextId())
        : () => session.updateInTransaction(nextId())
    await runClosedLoop(run, concurrency, warmupMillis)
    collectGarbage()
    return await runClosedLoop(run, concurrency, windowMillis)
  } finally {
    await session.close()
  }
}

function describeError(error: unknown): string | undefined {
  if (error === undefined) return undefined
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}
