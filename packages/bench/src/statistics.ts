/** A set of measurements reduced to what the report shows. */
export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly samples: readonly number[]
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) {
    return { median: Number.NaN, min: Number.NaN, max: Number.NaN, samples: [] }
  }
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    median: quantileOfSorted(sorted, 0.5),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    samples: [...samples],
  }
}

export function median(samples: readonly number[]): number {
  return summarize(samples).median
}

/** Linear-interpolated quantile of an ascending array (q in [0, 1]). */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) {
    return Number.NaN
  }
  const position = (sorted.length - 1) * q
  const lower = Math.floor(position)
  const upper = Math.ceil(position)
  const a = sorted[lower]!
  const b = sorted[upper]!
  return a + (b - a) * (position - lower)
}

export function quantile(samples: readonly number[], q: number): number {
  return quantileOfSorted(
    [...samples].sort((a, b) => a - b),
    q,
  )
}

/**
 * Pairs of (earlier, later) where the later-enqueued caller was served
 * first: zero for a FIFO queue. Counted in O(n log n) by merge sort.
 */
export function countInversions(order: readonly number[]): number {
  const values = [...order]
  const buffer = new Array<number>(values.length)
  let inversions = 0
  for (let width = 1; width < values.length; width *= 2) {
    for (let left = 0; left < values.length; left += 2 * width) {
      const middle = Math.min(left + width, values.length)
      const right = Math.min(left + 2 * width, values.length)
      let i = left
      let j = middle
      let k = left
      while (i < middle && j < right) {
        if (values[i]! <= values[j]!) {
          buffer[k++] = values[i++]!
        } else {
          inversions += middle - i
          buffer[k++] = values[j++]!
        }
      }
      while (i < middle) buffer[k++] = values[i++]!
      while (j < right) buffer[k++] = values[j++]!
      for (let m = left; m < right; m++) values[m] = buffer[m]!
    }
  }
  return inversions
}
