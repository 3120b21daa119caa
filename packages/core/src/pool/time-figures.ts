/** Summary of a duration measured many times (milliseconds). */
export interface TimeFigures {
  /** How many were measured since the pool started. */
  readonly count: number
  /** Their sum. */
  readonly total: number
  /** The longest. */
  readonly max: number
  /** Median of the most recent samples. */
  readonly p50: number
  /** 99th percentile of the most recent samples. */
  readonly p99: number
}

// A power of two so the ring index is a mask, not a modulo.
const WINDOW = 1024

/**
 * Records durations on the hot path at the cost of one typed-array write;
 * percentiles are computed only when someone asks (`pool.stats()`), over the
 * most recent {@link WINDOW} samples.
 */
export class TimeRecorder {
  readonly #samples = new Float64Array(WINDOW)
  #count = 0
  #total = 0
  #max = 0

  record(millis: number): void {
    this.#samples[this.#count & (WINDOW - 1)] = millis
    this.#count++
    this.#total += millis
    if (millis > this.#max) {
      this.#max = millis
    }
  }

  figures(): TimeFigures {
    const n = Math.min(this.#count, WINDOW)
    const recent = this.#samples.slice(0, n).sort()
    return Object.freeze({
      count: this.#count,
      total: round(this.#total),
      max: round(this.#max),
      p50: round(percentile(recent, 0.5)),
      p99: round(percentile(recent, 0.99)),
    })
  }
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) {
    return 0
  }
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}

function round(millis: number): number {
  return Math.round(millis * 1000) / 1000
}
