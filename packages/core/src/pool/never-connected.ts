/**
 * Socket errors that, on a pool that has never opened a connection, mean a
 * wrong address (a typo in the port, nothing listening) rather than a
 * restart to wait out: queued callers fail at once with the cause, as
 * pg-pool's do. Once the pool has been healthy the same errors mean the
 * server is restarting, and callers stay queued while creation backs off.
 */
const REFUSED_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED'])

export function refusedBeforeFirstConnection(error: Error, everConnected: boolean): boolean {
  if (everConnected) {
    return false
  }
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && REFUSED_CODES.has(code)
}
