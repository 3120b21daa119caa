/** Milliseconds since `start` (a `performance.now()` reading). */
export function since(start: number): number {
  return performance.now() - start
}

/** Runs `fn` `times` times, one after another; resolves the mean milliseconds per run. */
export async function meanMillis(times: number, fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  for (let i = 0; i < times; i++) {
    await fn()
  }
  return since(start) / times
}

export function sleep(millis: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, millis))
}

/** `1.23 ms`, `12.3 ms`, `123 ms`: three significant figures are plenty. */
export function formatMillis(ms: number): string {
  // Compare the rounded figure, so 99.96 reads `100 ms`, not `100.0 ms`.
  if (Number(ms.toFixed(2)) < 10) return `${ms.toFixed(2)} ms`
  if (Number(ms.toFixed(1)) < 100) return `${ms.toFixed(1)} ms`
  return `${Math.round(ms)} ms`
}

/** Waits for `promise`, or `millis` at most; the timer never outlives the wait. */
export async function within(promise: Promise<unknown>, millis: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, millis)))])
  } finally {
    clearTimeout(timer)
  }
}
