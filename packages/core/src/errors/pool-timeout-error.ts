import type { HolderInfo } from './holder-info.js'
import { PoolError } from './pool-error.js'

/**
 * Why a caller timed out:
 * - `pool-full`: every connection was leased for the whole wait (see `holders`).
 * - `server-refusing`: opening connections kept failing for a reason worth
 *   retrying (too many connections, connection refused, connect timeout) and
 *   the pool kept retrying. (Failures retrying cannot fix fail the waiters
 *   at once with `PoolConnectError` instead.)
 * - `create-slow`: connections were being opened but none finished in time.
 */
export type PoolTimeoutReason = 'pool-full' | 'server-refusing' | 'create-slow'

export interface PoolTimeoutDetails {
  readonly reason: PoolTimeoutReason
  readonly waitedMillis: number
  readonly size: number
  readonly used: number
  readonly idle: number
  readonly pending: number
  readonly max: number
  /** The last connection failure, password-free, when creates were failing. */
  readonly lastCreateError?: Error
  /** Who held the connections when the caller gave up. */
  readonly holders: readonly HolderInfo[]
}

/** Queued longer than `acquireTimeoutMillis`. The message and fields say why. */
export class PoolTimeoutError extends PoolError implements PoolTimeoutDetails {
  readonly code = 'POOL_ACQUIRE_TIMEOUT'
  readonly reason: PoolTimeoutReason
  readonly waitedMillis: number
  readonly size: number
  readonly used: number
  readonly idle: number
  readonly pending: number
  readonly max: number
  readonly lastCreateError?: Error
  readonly holders: readonly HolderInfo[]

  constructor(poolName: string, details: PoolTimeoutDetails) {
    super(describeTimeout(poolName, details), { cause: details.lastCreateError })
    this.reason = details.reason
    this.waitedMillis = details.waitedMillis
    this.size = details.size
    this.used = details.used
    this.idle = details.idle
    this.pending = details.pending
    this.max = details.max
    this.lastCreateError = details.lastCreateError
    this.holders = details.holders
  }
}

const MAX_HOLDERS_IN_MESSAGE = 5

function describeTimeout(poolName: string, d: PoolTimeoutDetails): string {
  const counts = `size ${d.size}/${d.max}, used ${d.used}, idle ${d.idle}, waiting ${d.pending}`
  const head = `pool "${poolName}": no connection after ${d.waitedMillis} ms (${counts})`
  switch (d.reason) {
    case 'pool-full':
      return `${head}: the pool is full and every connection is leased.${describeHolders(d.holders)}`
    case 'server-refusing':
      return `${head}: the server is refusing connections (last: ${d.lastCreateError?.message ?? 'unknown'}).`
    case 'create-slow':
      return `${head}: opening a connection is taking longer than the wait allowed.`
  }
}

function describeHolders(holders: readonly HolderInfo[]): string {
  if (holders.length === 0) {
    return ''
  }
  const lines = holders.slice(0, MAX_HOLDERS_IN_MESSAGE).map((h) => {
    const where = h.acquiredAt
      ? ` acquired at ${h.acquiredAt}`
      : h.stack
        ? ' (no application frame in the acquire stack: see holders[].stack)'
        : ''
    return `\n  - lease #${h.leaseId} held ${h.heldMillis} ms, transaction ${h.transaction}${where}`
  })
  const more =
    holders.length > MAX_HOLDERS_IN_MESSAGE ? `\n  … and ${holders.length - MAX_HOLDERS_IN_MESSAGE} more` : ''
  const hint = holders.some((h) => h.stack)
    ? ''
    : '\n  (set leakDetectionMillis explicitly to capture the acquire site of every lease)'
  return ` Holders:${lines.join('')}${more}${hint}`
}
