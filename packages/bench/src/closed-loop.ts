import { quantileOfSorted } from './statistics.js'

/** What one closed-loop run measured. */
export interface LoopResult {
  readonly operations: number
  readonly errors: number
  readonly elapsedMillis: number
  readonly operationsPerSecond: number
  /** CPU time this process spent per operation (user + system), in µs: the client stack's cost, whatever the server does. */
  readonly cpuMicrosPerOperation: number
  /** 99th percentile of the operations' latencies (ms); of those `operation` marked as counted, when it marks. */
  readonly p99Millis: number
  readonly firstError?: unknown
}

/** Return this from an operation to keep its latency out of the percentile (head-of-line: the slow ones). */
export const UNCOUNTED = Symbol('uncounted latency')

/** Stops a run that fails this often: the numbers would be meaningless. */
const MAX_ERRORS = 100

/**
 * `concurrency` workers each run `operation` back to back until the
 * deadline (or `maxOperations` in total): a closed loop, like request
 * handlers behind a busy server. Bounded by time and by count.
 */
export async function runClosedLoop(
  operation: () => Promise<unknown>,
  concurrency: number,
  durationMillis: number,
  maxOperations = 10_000_000,
): Promise<LoopResult> {
  let operations = 0
  let errors = 0
  let firstError: unknown
  let started = 0
  // Latencies in a preallocated buffer: one clock read per operation, for every contender alike.
  let latencies = new Float64Array(65_536)
  let recorded = 0
  const cpuBefore = process.cpuUsage()
  const start = performance.now()
  const deadline = start + durationMillis
  const worker = async (): Promise<void> => {
    while (started < maxOperations && errors < MAX_ERRORS && performance.now() < deadline) {
      started++
      const began = performance.now()
      try {
        const outcome = await operation()
        operations++
        if (outcome !== UNCOUNTED) {
          if (recorded === latencies.length) {
            const grown = new Float64Array(latencies.length * 2)
            grown.set(latencies)
            latencies = grown
          }
          latencies[recorded++] = performance.now() - began
        }
      } catch (error) {
        errors++
        firstError ??= error
      }
    }
  }
  const workers: Array<Promise<void>> = []
  for (let i = 0; i < concurrency; i++) {
    workers.push(worker())
  }
  await Promise.all(workers)
  const elapsedMillis = performance.now() - start
  const cpu = process.cpuUsage(cpuBefore)
  return {
    operations,
    errors,
    elapsedMillis,
    operationsPerSecond: (operations * 1000) / elapsedMillis,
    cpuMicrosPerOperation: (cpu.user + cpu.system) / Math.max(1, operations),
    p99Millis: quantileOfSorted(latencies.subarray(0, recorded).sort(), 0.99),
    ...(firstError === undefined ? {} : { firstError }),
  }
}

/** A full collection between measurements, when the process runs with --expose-gc. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
}

export function hasExposedGc(): boolean {
  return typeof (globalThis as { gc?: () => void }).gc === 'function'
}

/** Rotates the order each round so no contender always runs first or last. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const offset = ((by % items.length) + items.length) % items.length
  return [...items.slice(offset), ...items.slice(0, offset)]
}
