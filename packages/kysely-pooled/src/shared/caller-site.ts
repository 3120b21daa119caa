// Enough frames to get past Kysely's and the dialect's own to the application.
const STACK_FRAMES = 30

/**
 * The stack of the call to `above`, for the pool's leak reports. Recorded
 * now, formatted by V8 only if `.stack` is ever read: cheap unless reported.
 */
export function captureCallerSite(above: Function): { readonly stack?: string } {
  const site: { stack?: string } = {}
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = STACK_FRAMES
  Error.captureStackTrace(site, above)
  Error.stackTraceLimit = limit
  return site
}
