import { performance } from 'node:perf_hooks'

/**
 * The client-side half of `statementTimeoutMillis`: a request written to the
 * server that gets no byte back within `stallMillis` means the path is dead
 * (the server would have answered, at worst with its own timeout error).
 *
 * Per request it costs a clock read and at most one `refresh()` of a single
 * timer; an answer costs one field write. Requests are what the client
 * writes, so a cursor the application is slow to read never trips it.
 */
export class StallGuard {
  readonly #stallMillis: number
  readonly #onStall: () => void
  #timer: NodeJS.Timeout | undefined = undefined
  #pending = false
  /** When the oldest unanswered request was written; -1 when everything written has been answered. */
  #unansweredSince = -1
  #stopped = false
  /** The timer was last set for the rest of a window, not a whole one: `refresh()` would reuse that length. */
  #short = false

  constructor(stallMillis: number, onStall: () => void) {
    this.#stallMillis = stallMillis
    this.#onStall = onStall
  }

  /** The client wrote a request. */
  request(): void {
    if (this.#unansweredSince >= 0 || this.#stopped) return
    this.#unansweredSince = performance.now()
    if (this.#pending) return
    this.#pending = true
    if (this.#timer === undefined || this.#short) {
      this.#short = false
      this.#timer = setTimeout(() => this.#check(), this.#stallMillis)
      this.#timer.unref()
    } else {
      this.#timer.refresh()
    }
  }

  /** Bytes came back from the server. */
  answered(): void {
    this.#unansweredSince = -1
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
  }

  #check(): void {
    this.#pending = false
    if (this.#unansweredSince < 0 || this.#stopped) return
    const waited = performance.now() - this.#unansweredSince
    if (waited + 1 >= this.#stallMillis) {
      this.stop()
      this.#onStall()
      return
    }
    // A request written after the timer started: wait out the rest of its window.
    this.#pending = true
    this.#short = true
    this.#timer = setTimeout(() => this.#check(), this.#stallMillis - waited)
    this.#timer.unref()
  }
}
