import { collectGarbage, rotate } from '../closed-loop.js'
import type { FakePool, FakePoolFactory, FakePoolId } from '../fake/fake-pools.js'
import { progress } from '../progress.js'
import { POOL_MAX, type BenchSettings } from '../settings.js'
import { summarize, type Summary } from '../statistics.js'

export type OverheadLoad = 'uncontended' | 'contended'

export interface OverheadRow {
  readonly pool: FakePoolId
  readonly label: string
  readonly load: OverheadLoad
  /** Nanoseconds per acquire + release pair, one sample per round. */
  readonly nsPerPair: Summary
  /** Per round: this pool's ns/pair over raw tarn's in the same round. */
  readonly ratioToTarn: Summary
  /** Per round: this pool's ns/pair minus raw tarn's, in ns. */
  readonly differenceToTarnNs: Summary
}

export interface OverheadResult {
  readonly max: number
  readonly waiters: number
  readonly rows: readonly OverheadRow[]
}

/** Workers in the contended run: 1,000 callers on `max` 10. */
const WAITERS = 1_000

/**
 * Acquire + release pairs per second on fake connections: the pool's own
 * cost, nothing else. Uncontended: one caller, back to back (every acquire
 * finds an idle connection). Contended: 1,000 callers on max 10 (every
 * acquire queues).
 */
export async function measurePoolOverhead(
  pools: readonly FakePoolFactory[],
  settings: BenchSettings,
): Promise<OverheadResult> {
  const samples = new Map<string, number[]>()
  const key = (id: FakePoolId, load: OverheadLoad) => `${id}/${load}`
  const loads: OverheadLoad[] = ['uncontended', 'contended']

  progress('pool overhead: warm-up (JIT) of every pool')
  for (const factory of pools) {
    for (const load of loads) {
      await measureOnce(factory, load, settings.overheadWindowMillis)
    }
  }
  const rounds = settings.rounds + 1
  for (let round = 0; round < rounds; round++) {
    for (const [index, load] of loads.entries()) {
      const line: string[] = []
      for (const factory of rotate(pools, round + index)) {
        const ns = await measureOnce(factory, load, settings.overheadWindowMillis)
        const k = key(factory.id, load)
        samples.set(k, [...(samples.get(k) ?? []), ns])
        line.push(`${factory.id} ${ns.toFixed(0)} ns`)
      }
      progress(`pool overhead round ${round + 1}/${rounds} ${load}: ${line.join(', ')} per pair`)
    }
  }

  const rows: OverheadRow[] = []
  for (const factory of pools) {
    for (const load of loads) {
      const own = samples.get(key(factory.id, load)) ?? []
      const tarn = samples.get(key('tarn', load)) ?? []
      rows.push({
        pool: factory.id,
        label: factory.label,
        load,
        nsPerPair: summarize(own),
        ratioToTarn: summarize(own.map((value, round) => value / (tarn[round] ?? Number.NaN))),
        differenceToTarnNs: summarize(own.map((value, round) => value - (tarn[round] ?? Number.NaN))),
      })
    }
  }
  return { max: POOL_MAX, waiters: WAITERS, rows }
}

/** Returns nanoseconds per pair. */
async function measureOnce(factory: FakePoolFactory, load: OverheadLoad, windowMillis: number): Promise<number> {
  const pool = factory.create(POOL_MAX, 60_000)
  try {
    // Open the connections first: creation is not what is measured.
    const handles = await Promise.all(Array.from({ length: POOL_MAX }, () => pool.acquire()))
    await Promise.all(handles.map((handle) => pool.release(handle)))
    collectGarbage()
    return load === 'uncontended' ? await uncontended(pool, windowMillis) : await contended(pool, windowMillis)
  } finally {
    await pool.destroy()
  }
}

async function uncontended(pool: FakePool, windowMillis: number): Promise<number> {
  let pairs = 0
  const start = performance.now()
  const deadline = start + windowMillis
  let now = start
  // Read the clock every 256 pairs: performance.now() would cost more than a pair.
  while (now < deadline && pairs < MAX_PAIRS) {
    for (let i = 0; i < 256; i++) {
      const handle = await pool.acquire()
      await pool.release(handle)
    }
    pairs += 256
    now = performance.now()
  }
  return ((now - start) * 1e6) / pairs
}

async function contended(pool: FakePool, windowMillis: number): Promise<number> {
  let pairs = 0
  let stop = false
  const start = performance.now()
  const deadline = start + windowMillis
  // A pool may hand connections over in microtasks only, so a timer might
  // never fire during the run: the workers read the clock themselves.
  const worker = async (): Promise<void> => {
    while (!stop) {
      const handle = await pool.acquire()
      pairs++
      await pool.release(handle)
      if ((pairs & 127) === 0 && (performance.now() >= deadline || pairs >= MAX_PAIRS)) {
        stop = true
      }
    }
  }
  await Promise.all(Array.from({ length: WAITERS }, worker))
  return ((performance.now() - start) * 1e6) / pairs
}

const MAX_PAIRS = 50_000_000
