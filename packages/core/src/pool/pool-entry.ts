import type { ConnectionHandle } from '../connector/connector.js'
import type { LeaseRevokeReason } from '../errors/lease-revoked-error.js'
import type { AcquireSite } from './acquire-site.js'
import { canMove, ConnectionState, stateName } from './connection-state.js'

/**
 * The pool's record of one physical connection: its state, its lease
 * bookkeeping and the connector's handle. `ConnectionStore` files it by
 * its state. It never references a `Lease`, so a lease its holder drops can
 * be garbage-collected (and reclaimed) while the connection is out.
 */
export class PoolEntry<C> {
  readonly id: number
  readonly handle: ConnectionHandle<C>
  readonly createdAt: number
  /** When this connection is retired (`maxLifetimeMillis` minus jitter). */
  readonly retireAt: number

  #state = ConnectionState.Opening
  /** Its index in the store's list for its state (`-1` in none); the store's alone. */
  slot = -1
  idleSince: number
  /**
   * Bumped on every lend and every revoke. A lease is valid only while its
   * own number is the current one, so a released or revoked lease can never
   * reach the next holder's connection.
   */
  leaseSeq = 0
  leaseId = 0
  leasedAt = 0
  /** Leases handed out on this connection (for `maxUses`). */
  uses = 0
  acquireSite: AcquireSite | undefined = undefined
  leakReported = false
  /** Counts the resets of this session: state set up after one is gone after the next. */
  sessionGeneration = 0
  /** Its current lease is registered for garbage-collection reclaim. */
  gcTracked = false
  revokeReason: LeaseRevokeReason | undefined = undefined
  /** The first break the handle reported; never cleared. */
  brokenError: Error | undefined = undefined
  /** A holder asked to end the session: the connection is never lent again. */
  sessionKilled = false
  /**
   * Interrupts sent on this connection (by anyone) that have not completed:
   * the gate hands it to nobody before they have, so none can reach the
   * next holder's statement.
   */
  readonly interrupts = new Set<Promise<void>>()
  /** The `leaseSeq` of the last statement cancel: eviction does not cancel the same work twice. */
  cancelledSeq = -1

  constructor(id: number, handle: ConnectionHandle<C>, now: number, maxLifetimeMillis: number) {
    this.id = id
    this.handle = handle
    this.createdAt = now
    this.idleSince = now
    // Jitter (up to 2.5 %) keeps connections opened together from all
    // retiring in the same instant, as HikariCP does.
    this.retireAt =
      maxLifetimeMillis > 0 ? now + maxLifetimeMillis - Math.random() * 0.025 * maxLifetimeMillis : Infinity
  }

  get state(): ConnectionState {
    return this.#state
  }

  /** Resolves once every interrupt sent on this connection so far, and any sent meanwhile, completed. */
  async interruptsDone(): Promise<void> {
    while (this.interrupts.size > 0) {
      await Promise.all(this.interrupts)
    }
  }

  /** The one way to change state (called by `ConnectionStore` only); an illegal move is a bug in the pool and throws. */
  moveTo(next: ConnectionState): void {
    if (!canMove(this.#state, next)) {
      throw new Error(
        `kysely-pooled internal error: connection #${this.id} cannot move from ${stateName(this.#state)} to ${stateName(next)}`,
      )
    }
    this.#state = next
  }

  /** Broken by an event, or by what the handle saw on any path (a statement's callback, a failed write). */
  get isBroken(): boolean {
    return this.brokenError !== undefined || this.sessionKilled || this.handle.isBroken()
  }
}
