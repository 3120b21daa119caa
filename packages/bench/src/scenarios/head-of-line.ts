import { collectGarbage, rotate, runClosedLoop, UNCOUNTED } from '../closed-loop.js'
import type { Contender, ContenderId } from '../contenders/contender.js'
import { idSequence, type DatabaseTarget } from '../databases.js'
import { progress } from '../progress.js'
import { POOL_MAX, type BenchSettings, type DatabaseId } from '../settings.js'
import { summarize, type Summary } from '../statistics.js'

/** One statement in this many is slow. */
export const SLOW_EVERY = 100
export const SLOW_MILLIS = 50
export const HEAD_OF_LINE_CONCURRENCY = 64

export interface HeadOfLineRow {
  readonly contender: ContenderId
  readonly label: string
  /** p99 latency of the fast statements (ms), one sample per round. */
  readonly fastP99Millis: Summary
  /** Per round: this contender's fast p99 over exclusive mode's (kysely-pooled without pipeline). */
  readonly ratioToExclusive: Summary
  readonly opsPerSecond: Summary
  readonly errors: number
}

export interface HeadOfLineResult {
  readonly database: DatabaseId
  readonly concurrency: number
  readonly slowEvery: number
  readonly slowMillis: number
  readonly rows: readonly HeadOfLineRow[]
}

/**
 * Head-of-line blocking: point selects at concurrency 64 where one statement
 * in 100 takes 50 ms (`pg_sleep`). In pipeline mode a fast statement queued
 * behind a slow one on a shared connection waits for it; the depth cap and
 * least-in-flight placement bound that. Reports the fast statements' p99.
 */
export async function measureHeadOfLine(
  target: DatabaseTarget,
  contenders: readonly Contender[],
  settings: BenchSettings,
): Promise<HeadOfLineResult> {
  const p99 = new Map<ContenderId, number[]>()
  const ops = new Map<ContenderId, number[]>()
  const errors = new Map<ContenderId, number>()
  const windowMillis = settings.windowMillis * 3
  for (let round = 0; round < settings.rounds; round++) {
    for (const contender of rotate(contenders, round)) {
      const session = await contender.open(target, POOL_MAX)
      try {
        const nextId = idSequence(round * 7919 + 1)
        let count = 0
        const run = async (): Promise<unknown> => {
          if (++count % SLOW_EVERY === 0) {
            await session.slowStatement!(SLOW_MILLIS / 1000)
            return UNCOUNTED
          }
          return session.pointSelect(nextId())
        }
        await runClosedLoop(run, HEAD_OF_LINE_CONCURRENCY, settings.warmupMillis)
        collectGarbage()
        const result = await runClosedLoop(run, HEAD_OF_LINE_CONCURRENCY, windowMillis)
        p99.set(contender.id, [...(p99.get(contender.id) ?? []), result.p99Millis])
        ops.set(contender.id, [...(ops.get(contender.id) ?? []), result.operationsPerSecond])
        errors.set(contender.id, (errors.get(contender.id) ?? 0) + result.errors)
        progress(
          `${target.label} head-of-line round ${round + 1}/${settings.rounds} ${contender.id}: fast p99 ${result.p99Millis.toFixed(2)} ms, ${Math.round(result.operationsPerSecond)} ops/s`,
        )
      } finally {
        await session.close()
      }
    }
  }
  const exclusive = p99.get('kysely-pooled') ?? []
  return {
    database: target.id,
    concurrency: HEAD_OF_LINE_CONCURRENCY,
    slowEvery: SLOW_EVERY,
    slowMillis: SLOW_MILLIS,
    rows: contenders.map((contender) => {
      const own = p99.get(contender.id) ?? []
      return {
        contender: contender.id,
        label: contender.label(target),
        fastP99Millis: summarize(own),
        ratioToExclusive: summarize(own.map((value, round) => value / (exclusive[round] ?? Number.NaN))),
        opsPerSecond: summarize(ops.get(contender.id) ?? []),
        errors: errors.get(contender.id) ?? 0,
      }
    }),
  }
}
