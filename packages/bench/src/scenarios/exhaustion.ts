import tarn from 'tarn'
import { collectGarbage, hasExposedGc, rotate } from '../closed-loop.js'
import type { FakePool, FakePoolFactory, FakePoolId } from '../fake/fake-pools.js'
import { progress } from '../progress.js'
import { POOL_MAX, type BenchSettings } from '../settings.js'
import { countInversions, quantile, summarize, type Summary } from '../statistics.js'

export interface ExhaustionRow {
  readonly pool: FakePoolId
  readonly label: string
  readonly served: Summary
  readonly timedOut: Summary
  /** How long after its deadline a timed-out caller heard of it (ms), per round. */
  readonly latenessP50Millis: Summary
  readonly latenessP99Millis: Summary
  readonly latenessMaxMillis: Summary
  /** Pairs of served callers served out of arrival order (0 = FIFO), per round. */
  readonly inversions: Summary
  /** Heap growth per queued caller, bytes (needs --expose-gc). */
  readonly heapBytesPerWaiter: Summary
  /** Rejections that were not timeouts (should be 0). */
  readonly otherErrors: number
}

export interface ExhaustionResult {
  readonly callers: number
  readonly max: number
  readonly acquireTimeoutMillis: number
  readonly holdMillis: number
  readonly gcExposed: boolean
  readonly rows: readonly ExhaustionRow[]
}

const CALLERS = 2_000
const ACQUIRE_TIMEOUT_MILLIS = 100
/** Each served caller holds its connection this long: ~500 are served before the deadline, the rest time out. */
const HOLD_MILLIS = 2

/**
 * 2,000 callers arrive at once on max 10 with a short acquire timeout, on
 * fake connections (pool logic only). Measures how late timeouts fire, how
 * far service strays from FIFO, and what a queued caller costs in heap.
 */
export async function measureExhaustion(
  pools: readonly FakePoolFactory[],
  settings: BenchSettings,
): Promise<ExhaustionResult> {
  const runs = new Map<FakePoolId, RunResult[]>()
  const heap = new Map<FakePoolId, number[]>()
  for (const factory of pools) {
    await runOnce(factory) // warm-up
  }
  for (let round = 0; round < settings.exhaustionRounds; round++) {
    const line: string[] = []
    for (const factory of rotate(pools, round)) {
      const result = await runOnce(factory)
      runs.set(factory.id, [...(runs.get(factory.id) ?? []), result])
      const bytes = await heapPerWaiter(factory)
      heap.set(factory.id, [...(heap.get(factory.id) ?? []), bytes])
      line.push(
        `${factory.id} served ${result.served}, late p99 ${result.latenessP99.toFixed(1)} ms, inversions ${result.inversions}, ${Math.round(bytes)} B/waiter`,
      )
    }
    progress(`exhaustion round ${round + 1}/${settings.exhaustionRounds}: ${line.join('; ')}`)
  }
  const rows = pools.map((factory): ExhaustionRow => {
    const results = runs.get(factory.id) ?? []
    return {
      pool: factory.id,
      label: factory.label,
      served: summarize(results.map((r) => r.served)),
      timedOut: summarize(results.map((r) => r.timedOut)),
      latenessP50Millis: summarize(results.map((r) => r.latenessP50)),
      latenessP99Millis: summarize(results.map((r) => r.latenessP99)),
      latenessMaxMillis: summarize(results.map((r) => r.latenessMax)),
      inversions: summarize(results.map((r) => r.inversions)),
      heapBytesPerWaiter: summarize(heap.get(factory.id) ?? []),
      otherErrors: results.reduce((sum, r) => sum + r.otherErrors, 0),
    }
  })
  return {
    callers: CALLERS,
    max: POOL_MAX,
    acquireTimeoutMillis: ACQUIRE_TIMEOUT_MILLIS,
    holdMillis: HOLD_MILLIS,
    gcExposed: hasExposedGc(),
    rows,
  }
}

interface RunResult {
  served: number
  timedOut: number
  otherErrors: number
  latenessP50: number
  latenessP99: number
  latenessMax: number
  inversions: number
}

async function runOnce(factory: FakePoolFactory): Promise<RunResult> {
  const pool = factory.create(POOL_MAX, ACQUIRE_TIMEOUT_MILLIS)
  try {
    await openAll(pool)
    collectGarbage()
    const servedOrder: number[] = []
    const lateness: number[] = []
    let otherErrors = 0
    const callers: Array<Promise<void>> = []
    for (let i = 0; i < CALLERS; i++) {
      const enqueuedAt = performance.now()
      callers.push(
        pool.acquire().then(
          async (handle) => {
            servedOrder.push(i)
            await sleep(HOLD_MILLIS)
            await pool.release(handle)
          },
          (error: unknown) => {
            if (isTimeout(error)) {
              lateness.push(performance.now() - enqueuedAt - ACQUIRE_TIMEOUT_MILLIS)
            } else {
              otherErrors++
            }
          },
        ),
      )
    }
    await Promise.all(callers)
    return {
      served: servedOrder.length,
      timedOut: lateness.length,
      otherErrors,
      latenessP50: quantile(lateness, 0.5),
      latenessP99: quantile(lateness, 0.99),
      latenessMax: lateness.length > 0 ? Math.max(...lateness) : Number.NaN,
      inversions: countInversions(servedOrder),
    }
  } finally {
    await pool.destroy()
  }
}

/**
 * Heap growth per queued caller: all connections held, 2,000 callers
 * queued (with a deadline far away), a full GC before and after.
 */
async function heapPerWaiter(factory: FakePoolFactory): Promise<number> {
  const pool = factory.create(POOL_MAX, 60_000)
  try {
    const held = await Promise.all(Array.from({ length: POOL_MAX }, () => pool.acquire()))
    await settleTicks()
    collectGarbage()
    collectGarbage()
    const before = process.memoryUsage().heapUsed
    const waiters: Array<Promise<unknown>> = []
    for (let i = 0; i < CALLERS; i++) {
      waiters.push(pool.acquire())
    }
    await settleTicks()
    collectGarbage()
    collectGarbage()
    const after = process.memoryUsage().heapUsed
    // Serve everyone: each waiter gives its connection straight back.
    const done = waiters.map((waiter) => waiter.then((handle) => pool.release(handle)))
    await Promise.all(held.map((handle) => pool.release(handle)))
    await Promise.all(done)
    return (after - before) / CALLERS
  } finally {
    await pool.destroy()
  }
}

async function openAll(pool: FakePool): Promise<void> {
  const handles = await Promise.all(Array.from({ length: POOL_MAX }, () => pool.acquire()))
  await Promise.all(handles.map((handle) => pool.release(handle)))
}

function isTimeout(error: unknown): boolean {
  if (error instanceof tarn.TimeoutError) return true
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  return code === 'POOL_ACQUIRE_TIMEOUT' || /timeout/i.test(error.name) || /timeout/i.test(error.message)
}

function sleep(millis: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, millis))
}

/** Lets every pending microtask, nextTick and immediate run. */
async function settleTicks(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve))
  }
}
