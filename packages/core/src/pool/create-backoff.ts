/**
 * Exponential backoff with jitter between failed connection attempts, shared
 * by every create of a pool: a server refusing connections sees a few
 * spaced-out attempts, never a storm from hundreds of queued callers.
 */
export class CreateBackoff {
  static readonly BASE_DELAY_MILLIS = 50
  static readonly MAX_DELAY_MILLIS = 2_000

  #failures = 0
  readonly #sleepers = new Set<() => void>()

  failed(): void {
    this.#failures++
  }

  succeeded(): void {
    this.#failures = 0
  }

  get failures(): number {
    return this.#failures
  }

  /** Resolves at once after a success, else after the (jittered) backoff. */
  wait(): Promise<void> {
    if (this.#failures === 0) {
      return Promise.resolve()
    }
    const ceiling = Math.min(
      CreateBackoff.MAX_DELAY_MILLIS,
      CreateBackoff.BASE_DELAY_MILLIS * 2 ** Math.min(this.#failures - 1, 16),
    )
    // "Equal jitter": at least half the ceiling, so attempts stay spaced out.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2)
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        this.#sleepers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, delay)
      timer.unref()
      this.#sleepers.add(wake)
    })
  }

  /** Ends every wait now (the pool is shutting down and will not connect). */
  cancel(): void {
    for (const wake of [...this.#sleepers]) {
      wake()
    }
  }
}
