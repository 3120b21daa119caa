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
  /**
   * Nanoseconds of CPU time (user + system) per acquire + release pair, one
   * sample per round. CPU time, not wall time: the loop is pure CPU on one
   * thread, and CPU time does not count the moments another process had the core.
   */
  readonly nsPerPair: Summary
  /** Wall-clock nanoseconds per pair, for reference (inflated when the machine is busy). */
  readonly wallNsPerPair: Summary
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
  const wall = new Map<string, number[]>()
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
        const { cpuNs, wallNs } = await measureOnce(factory, load, settings.overheadWindowMillis)
        const k = key(factory.id, load)
        samples.set(k, [...(samples.get(k) ?? []), cpuNs])
        wall.set(k, [...(wall.get(k) ?? []), wallNs])
        line.push(`${factory.id} ${cpuNs.toFixed(0)} ns`)
      }
      progress(`pool overhead round ${round + 1}/${rounds} ${load}: ${line.join(', ')} CPU per pair`)
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
        wallNsPerPair: summarize(wall.get(key(factory.id, load)) ?? []),
        ratioToTarn: summarize(own.map((value, round) => value / (tarn[round] ?? Number.NaN))),
        differenceToTarnNs: summarize(own.map((value, round) => value - (tarn[round] ?? Number.NaN))),
      })
    }
  }
  return { max: POOL_MAX, waiters: WAITERS, rows }
}

interface PairCost {
  readonly cpuNs: number
  readonly wallNs: number
}

type Loop = (pool: FakePool, windowMillis: number) => Promise<PairCost>

/**
 * Each pool gets its own copy of the two loops (the same source, compiled
 * apart): one shared copy would see three pools at its call sites and run
 * slower for all of them than any caller with one pool does.
 */
const loopsByPool = new Map<FakePoolId, Record<OverheadLoad, Loop>>()

function loopsFor(id: FakePoolId): Record<OverheadLoad, Loop> {
  let loops = loopsByPool.get(id)
  if (loops === undefined) {
    loops = { uncontended: copyOf(uncontended), contended: copyOf(contended) }
    loopsByPool.set(id, loops)
  }
  return loops
}

/** A fresh compilation of `loop` (a top-level function using only its arguments and the helpers passed in). */
function copyOf(loop: Loop): Loop {
  const make = new Function('cost', 'MAX_PAIRS', 'WAITERS', `return ${loop.toString()}`) as (
    costFn: typeof cost,
    maxPairs: number,
    waiters: number,
  ) => Loop
  return make(cost, MAX_PAIRS, WAITERS)
}

/** Returns nanoseconds per pair, CPU and wall. */
async function measureOnce(factory: FakePoolFactory, load: OverheadLoad, windowMillis: number): Promise<PairCost> {
  const pool = factory.create(POOL_MAX, 60_000)
  try {
    // Open the connections first: creation is not what is measured.
    const handles = await Promise.all(Array.from({ length: POOL_MAX }, () => pool.acquire()))
    await Promise.all(handles.map((handle) => pool.release(handle)))
    collectGarbage()
    return await loopsFor(factory.id)[load](pool, windowMillis)
  } finally {
    await pool.destroy()
  }
}

async function uncontended(pool: FakePool, windowMillis: number): Promise<PairCost> {
  let pairs = 0
  const cpuBefore = process.cpuUsage()
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
  return cost(cpuBefore, now - start, pairs)
}

async function contended(pool: FakePool, windowMillis: number): Promise<PairCost> {
  let pairs = 0
  let stop = false
  const cpuBefore = process.cpuUsage()
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
  return cost(cpuBefore, performance.now() - start, pairs)
}

function cost(cpuBefore: NodeJS.CpuUsage, wallMillis: number, pairs: number): PairCost {
  const cpu = process.cpuUsage(cpuBefore)
  return { cpuNs: ((cpu.user + cpu.system) * 1000) / pairs, wallNs: (wallMillis * 1e6) / pairs }
}

const MAX_PAIRS = 50_000_000
