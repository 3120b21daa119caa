/** What became of work raced against a deadline (and maybe a signal). */
export type Settled = 'done' | 'failed' | 'late' | 'aborted'

/**
 * Waits for `work` until `deadline` (a `performance.now()` time) or until
 * `signal` aborts, whichever comes first. Never rejects: a rejection is
 * `'failed'`. The timer and the abort listener never outlive the wait.
 */
export function settleBefore(work: Promise<unknown>, deadline: number, signal?: AbortSignal): Promise<Settled> {
  if (signal?.aborted) {
    work.catch(() => {})
    return Promise.resolve('aborted')
  }
  return new Promise<Settled>((resolve) => {
    let settled = false
    const finish = (outcome: Settled): void => {
      if (settled) {
        return
      }
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      resolve(outcome)
    }
    const onAbort = (): void => finish('aborted')
    const timer = setTimeout(() => finish('late'), Math.max(0, deadline - performance.now()))
    signal?.addEventListener('abort', onAbort, { once: true })
    work.then(
      () => finish('done'),
      () => finish('failed'),
    )
  })
}
