import { collectGarbage, rotate, runClosedLoop, type LoopResult } from '../closed-loop.js'
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
  /** Node CPU time per operation (µs), one sample per round: less sensitive to other load than ops/s. */
  readonly cpuMicrosPerOp: Summary
  /** Per round: this contender's CPU per operation over the stock dialect's in the same round (lower is better). */
  readonly cpuRatioToStock: Summary
  /** Latency p99 (ms) of the measured window, one sample per round. */
  readonly p99Millis?: Summary
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
 * Each round runs every contender once, in an order rotated per round, on a
 * freshly opened pool that runs each concurrency in turn and is destroyed
 * right after: contenders share the machine's drift equally and no pool
 * outlives its round.
 */
export async function measureThroughput(
  target: DatabaseTarget,
  operation: ThroughputOperation,
  contenders: readonly Contender[],
  concurrencies: readonly number[],
  settings: BenchSettings,
): Promise<ThroughputResult> {
  contenders = contenders.filter((contender) => contender.databases?.includes(target.id) ?? true)
  const samples = new Map<string, number[]>()
  const cpu = new Map<string, number[]>()
  const p99 = new Map<string, number[]>()
  const errors = new Map<string, { count: number; first?: string }>()
  const key = (contender: ContenderId, concurrency: number) => `${contender}@${concurrency}`

  progress(`${target.label} ${operation}: warm-up pass (every contender, concurrency 16)`)
  for (const contender of contenders) {
    await runSession(target, operation, contender, [16], settings.warmupMillis, settings.warmupMillis)
  }

  for (let round = 0; round < settings.rounds; round++) {
    // Alternate the direction too, so no concurrency always runs on a pool that just ran another.
    const order = round % 2 === 0 ? concurrencies : [...concurrencies].reverse()
    for (const contender of rotate(contenders, round)) {
      const results = await runSession(
        target,
        operation,
        contender,
        order,
        settings.warmupMillis,
        settings.windowMillis,
      )
      const line: string[] = []
      for (const [index, concurrency] of order.entries()) {
        const result = results[index]!
        const k = key(contender.id, concurrency)
        samples.set(k, [...(samples.get(k) ?? []), result.operationsPerSecond])
        cpu.set(k, [...(cpu.get(k) ?? []), result.cpuMicrosPerOperation])
        p99.set(k, [...(p99.get(k) ?? []), result.p99Millis])
        if (result.errors > 0) {
          const seen = errors.get(k) ?? { count: 0 }
          errors.set(k, { count: seen.count + result.errors, first: seen.first ?? describeError(result.firstError) })
        }
        line.push(`c=${concurrency} ${Math.round(result.operationsPerSecond)}`)
      }
      progress(
        `${target.label} ${operation} round ${round + 1}/${settings.rounds} ${contender.id}: ${line.join(', ')} ops/s`,
      )
    }
  }

  const rows: ThroughputRow[] = []
  for (const contender of contenders) {
    for (const concurrency of concurrencies) {
      const own = samples.get(key(contender.id, concurrency)) ?? []
      const stock = samples.get(key('stock', concurrency)) ?? []
      const ratios = own.map((value, round) => value / (stock[round] ?? Number.NaN))
      const ownCpu = cpu.get(key(contender.id, concurrency)) ?? []
      const stockCpu = cpu.get(key('stock', concurrency)) ?? []
      const error = errors.get(key(contender.id, concurrency))
      rows.push({
        contender: contender.id,
        label: contender.label(target),
        concurrency,
        opsPerSecond: summarize(own),
        ratioToStock: summarize(ratios),
        cpuMicrosPerOp: summarize(ownCpu),
        cpuRatioToStock: summarize(ownCpu.map((value, round) => value / (stockCpu[round] ?? Number.NaN))),
        p99Millis: summarize(p99.get(key(contender.id, concurrency)) ?? []),
        errors: error?.count ?? 0,
        ...(error?.first ? { firstError: error.first } : {}),
      })
    }
  }
  return { database: target.id, operation, poolMax: POOL_MAX, concurrencies, rows }
}

/** One fresh pool per (round, contender), run at each concurrency in turn, then destroyed. */
async function runSession(
  target: DatabaseTarget,
  operation: ThroughputOperation,
  contender: Contender,
  concurrencies: readonly number[],
  warmupMillis: number,
  windowMillis: number,
): Promise<LoopResult[]> {
  const session = await contender.open(target, POOL_MAX)
  try {
    const results: LoopResult[] = []
    for (const concurrency of concurrencies) {
      const nextId = idSequence(concurrency * 7919 + 1)
      const run =
        operation === 'point-select' ? () => session.pointSelect(nextId()) : () => session.updateInTransaction(nextId())
      await runClosedLoop(run, concurrency, warmupMillis)
      collectGarbage()
      results.push(await runClosedLoop(run, concurrency, windowMillis))
    }
    return results
  } finally {
    await session.close()
  }
}

function describeError(error: unknown): string | undefined {
  if (error === undefined) return undefined
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}
