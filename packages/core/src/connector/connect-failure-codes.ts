import type { ConnectFailureKind } from './connector.js'
import { ConnectTimeoutError } from './connect-timeout-error.js'

/** System error codes for which retrying cannot help: the host name does not resolve. */
const UNKNOWN_HOST_CODES: ReadonlySet<string> = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EAI_NODATA',
])

/** System error codes of a server that is (maybe) there but not answering now. */
const TRANSIENT_SYSTEM_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'CONNECT_TIMEOUT',
])

/**
 * What the network layer, whatever the driver, says about a failed connect:
 * our own connect timeout and unanswered sockets are `transient`, a host name
 * that does not resolve is `fatal`, and `undefined` means the error is not the
 * network's to judge (the driver's own codes decide).
 */
export function classifySystemConnectFailure(error: Error): ConnectFailureKind | undefined {
  if (error instanceof ConnectTimeoutError) return 'transient'
  const code = (error as { code?: unknown }).code
  if (typeof code !== 'string') return undefined
  if (TRANSIENT_SYSTEM_CODES.has(code)) return 'transient'
  if (UNKNOWN_HOST_CODES.has(code)) return 'fatal'
  return undefined
}
