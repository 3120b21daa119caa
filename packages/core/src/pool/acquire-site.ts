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
