/** What the queue needs to know of a waiting caller. */
export interface QueuedWaiter {
  /** `performance.now()` time at which the caller gives up. */
  readonly deadline: number
  /** Served, timed out or aborted: no longer waiting. */
  settled: boolean
}

// Compact the backing array once this many served slots pile up at its head.
const COMPACT_AFTER = 1024

/**
 * The FIFO of callers waiting for a connection, with ONE timer for the
 * whole queue. Every caller waits the same `acquireTimeoutMillis`, so
 * deadlines come in (nearly) arrival order and only the head's deadline
 * needs a timer: a queue of thousands costs one timer, not thousands, and
 * serving a waiter costs no `clearTimeout`.
 *
 * Waiters that leave early (abort) are only marked settled and skipped
 * later, so leaving is O(1) too.
 */
export class WaitQueue<W extends QueuedWaiter> {
  readonly #onExpired: (expired: W[]) => void
  #items: (W | undefined)[] = []
  #head = 0
  #live = 0
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(onExpired: (expired: W[]) => void) {
    this.#onExpired = onExpired
  }

  /** Callers still waiting. */
  get size(): number {
    return this.#live
  }

  push(waiter: W): void {
    this.#items.push(waiter)
    this.#live++
    if (this.#timer === undefined) {
      this.#arm(waiter.deadline)
    }
  }

  /** Removes and returns the longest-waiting caller, marked settled. */
  shift(): W | undefined {
    if (this.#live === 0) {
      // The common case on release: nobody waits, nothing to tidy.
      return undefined
    }
    const items = this.#items
    while (this.#head < items.length) {
      const waiter = items[this.#head]!
      items[this.#head++] = undefined
      if (!waiter.settled) {
        waiter.settled = true
        this.#live--
        this.#tidy()
        return waiter
      }
    }
    this.#tidy()
    return undefined
  }

  /** A caller leaves by itself (its signal aborted). */
  remove(waiter: W): void {
    if (!waiter.settled) {
      waiter.settled = true
      this.#live--
      this.#tidy()
    }
  }

  /** Removes and returns every waiting caller, settled (shutdown, fatal connect error). */
  drain(): W[] {
    const waiting: W[] = []
    for (let waiter = this.shift(); waiter !== undefined; waiter = this.shift()) {
      waiting.push(waiter)
    }
    return waiting
  }

  #arm(deadline: number): void {
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, Math.ceil(deadline - performance.now())))
  }

  #expire(): void {
    this.#timer = undefined
    const now = performance.now()
    const expired: W[] = []
    const items = this.#items
    while (this.#head < items.length) {
      const waiter = items[this.#head]!
      if (!waiter.settled) {
        if (waiter.deadline > now) {
          break
        }
        waiter.settled = true
        this.#live--
        expired.push(waiter)
      }
      items[this.#head++] = undefined
    }
    this.#tidy()
    if (expired.length > 0) {
      this.#onExpired(expired)
    }
  }

  /** Keeps the timer on the current head and the array from growing without bound. */
  #tidy(): void {
    if (this.#live === 0) {
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer)
        this.#timer = undefined
      }
      if (this.#items.length > 0) {
        this.#items = []
        this.#head = 0
      }
      return
    }
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    if (this.#timer === undefined) {
      for (let i = this.#head; i < this.#items.length; i++) {
        const waiter = this.#items[i]
        if (waiter !== undefined && !waiter.settled) {
          this.#arm(waiter.deadline)
          break
        }
      }
    }
  }
}
