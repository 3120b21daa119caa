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
 * whole queue, armed for the earliest deadline of any caller in it. Every
 * caller waits the same `acquireTimeoutMillis`, so deadlines almost always
 * come in arrival order and the head's is the earliest: a queue of
 * thousands costs one timer, and serving a waiter costs no `clearTimeout`.
 * A caller that joins late with an earlier deadline (it spent time on a
 * validation ping first) is also kept in a small side list and re-arms the
 * timer, so it times out within its own deadline, not the head's.
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
  /** What the timer is armed for. */
  #armedFor = Infinity
  /** The latest deadline pushed so far: a waiter with an earlier one joined out of order. */
  #latest = -Infinity
  /** Waiters that joined out of deadline order (rare, few). */
  #early: W[] = []

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
    const deadline = waiter.deadline
    if (deadline < this.#latest) {
      this.#early.push(waiter)
    } else {
      this.#latest = deadline
    }
    if (this.#timer === undefined) {
      this.#arm(deadline)
    } else if (deadline < this.#armedFor) {
      clearTimeout(this.#timer)
      this.#arm(deadline)
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
    this.#armedFor = deadline
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, Math.ceil(deadline - performance.now())))
  }

  #expire(): void {
    this.#timer = undefined
    this.#armedFor = Infinity
    const now = performance.now()
    const expired: W[] = []
    const items = this.#items
    // In-order waiters: every one behind a live waiter not yet due is due later still.
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
    if (this.#early.length > 0) {
      this.#early = this.#early.filter((waiter) => {
        if (waiter.settled) {
          return false
        }
        if (waiter.deadline > now) {
          return true
        }
        waiter.settled = true
        this.#live--
        expired.push(waiter)
        return false
      })
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
      this.#early = []
      this.#latest = -Infinity
      return
    }
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    if (this.#timer === undefined) {
      let next = Infinity
      for (let i = this.#head; i < this.#items.length; i++) {
        const waiter = this.#items[i]
        if (waiter !== undefined && !waiter.settled) {
          next = waiter.deadline
          break
        }
      }
      for (const waiter of this.#early) {
        if (!waiter.settled && waiter.deadline < next) {
          next = waiter.deadline
        }
      }
      if (next !== Infinity) {
        this.#arm(next)
      }
    }
  }
}
