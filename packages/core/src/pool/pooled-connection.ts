import type { LeaseRevokeReason } from '../errors/lease-revoked-error.js'
import type { AcquireSite } from './acquire-site.js'

export const enum ConnectionPhase {
  Idle,
  Leased,
  /** Released or revoked; being checked and cleaned before going back. */
  Cleaning,
  Closing,
}

/**
 * The pool's record of one physical connection. This is what tarn holds as
 * its resource. It never references a `Lease`, so a lease that its holder
 * drops can be garbage-collected (and reclaimed) while its connection is out.
 */
export class PooledConnection<C> {
  readonly id: number
  readonly connection: C
  readonly createdAt: number
  /** When this connection is retired (`maxLifetimeMillis` minus jitter). */
  readonly retireAt: number

  phase = ConnectionPhase.Idle
  idleSince: number
  /**
   * Bumped on every lend and every revoke. A lease is valid only while its
   * own number is the current one, so a released or revoked lease can never
   * reach the next holder's connection.
   */
  leaseSeq = 0
  leaseId = 0
  leasedAt = 0
  acquireSite: AcquireSite | undefined = undefined
  leakReported = false
  /** Counts the resets of this session: state set up after one is gone after the next. */
  sessionGeneration = 0
  /** Its current lease is registered for garbage-collection reclaim. */
  gcTracked = false
  revokeReason: LeaseRevokeReason | undefined = undefined
  broken = false

  constructor(id: number, connection: C, now: number, maxLifetimeMillis: number) {
    this.id = id
    this.connection = connection
    this.createdAt = now
    this.idleSince = now
    // Jitter (up to 2.5 %) keeps connections opened together from all
    // retiring in the same instant, as HikariCP does.
    this.retireAt =
      maxLifetimeMillis > 0 ? now + maxLifetimeMillis - Math.random() * 0.025 * maxLifetimeMillis : Infinity
  }
}
