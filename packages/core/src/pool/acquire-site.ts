/**
 * Where a lease was acquired. `Error.captureStackTrace` records the frames
 * but V8 formats them only when `.stack` is read, so capturing costs little
 * and the formatting is paid only for leases that are actually reported.
 */
export interface AcquireSite {
  readonly stack?: string
}

// Enough frames to get past Kysely's and the dialect's own to the application.
const STACK_FRAMES = 30

export function captureAcquireSite(above: (...args: never[]) => unknown): AcquireSite {
  const site: { stack?: string } = {}
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = STACK_FRAMES
  Error.captureStackTrace(site, above)
  Error.stackTraceLimit = limit
  return site
}

// Frames of the pool, the dialects, Kysely and Node itself say nothing about
// which part of the application holds the lease.
const INTERNAL_FRAME = /node_modules|node:internal|packages[\\/](core|kysely-pooled)[\\/](src|dist)[\\/]|\(native\)/

/**
 * The first stack frame that belongs to the application, or `undefined`
 * when none survived (e.g. Kysely acquired after an `await`, which cuts the
 * synchronous stack): naming a library frame instead would point the reader
 * at the wrong code.
 */
export function applicationFrame(stack: string | undefined): string | undefined {
  if (!stack) {
    return undefined
  }
  const frame = stack
    .split('\n')
    .slice(1)
    .find((line) => !INTERNAL_FRAME.test(line))
  return frame?.trim().replace(/^at /, '')
}

// Sampling: the skip between captures doubles while captures come less than
// `SAMPLE_SECOND` apart, up to `MAX_SKIP`, and halves otherwise; an acquire
// after a quiet `SAMPLE_SECOND` is always captured.
const SAMPLE_SECOND = 1_000
const MAX_SKIP = 16_384

/**
 * Decides which acquires pay for a stack capture (a few microseconds, more
 * than the rest of an acquire and release together). A caller's own `site`
 * always wins. With `leakDetectionMillis` set explicitly every acquire is
 * captured; with the default it is sampled by count: a quiet pool captures
 * every acquire, a busy one about one per second and at least one in
 * `MAX_SKIP` (under 0.1 % of the time a capture takes), and the first
 * acquire after a quiet second always. Counting, not timing each capture,
 * keeps the choice the same run after run (the instruction benchmark
 * relies on it). Kysely transactions, what an application can leave open,
 * note their own site (see the dialects' drivers).
 */
export class AcquireSites {
  readonly #on: boolean
  readonly #every: boolean
  #skip = 0
  #countdown = 0
  #lastCaptureAt = -Infinity
  #lastAcquireAt = -Infinity

  constructor(leakDetectionMillis: number, explicit: boolean) {
    this.#on = leakDetectionMillis > 0
    this.#every = explicit
    // Off: every acquire is skipped (but a quiet one, which `#decide` declines).
    this.#countdown = this.#on ? 0 : Infinity
  }

  site(given: AcquireSite | undefined, above: (...args: never[]) => unknown, now: number): AcquireSite | undefined {
    // The common case first, small enough to be inlined into the acquire:
    // a busy pool's skipped acquire (measured: ~300 instructions a pair).
    const quiet = now - this.#lastAcquireAt >= SAMPLE_SECOND
    this.#lastAcquireAt = now
    if (this.#countdown > 0 && !quiet && given === undefined) {
      this.#countdown--
      return undefined
    }
    return this.#decide(given, above, now)
  }

  #decide(given: AcquireSite | undefined, above: (...args: never[]) => unknown, now: number): AcquireSite | undefined {
    if (!this.#on) {
      return undefined
    }
    if (given !== undefined || this.#every) {
      return given ?? captureAcquireSite(above)
    }
    const skip = this.#skip
    this.#skip = now - this.#lastCaptureAt < SAMPLE_SECOND ? Math.min(MAX_SKIP, skip * 2 || 1) : skip >> 1
    this.#countdown = this.#skip
    this.#lastCaptureAt = now
    return captureAcquireSite(above)
  }
}
