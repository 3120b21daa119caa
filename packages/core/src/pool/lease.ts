import type { InterruptScope, TransactionState } from '../connector/connector.js'
import { LeaseReleasedError } from '../errors/lease-released-error.js'
import { LeaseRevokedError } from '../errors/lease-revoked-error.js'
import type { PoolEntry } from './pool-entry.js'

/** What a lease needs from its pool; kept small so a lease holds no pool internals. */
export interface LeaseOwner<C> {
  release(entry: PoolEntry<C>, leaseId: number): Promise<void>
  discard(entry: PoolEntry<C>, leaseId: number, reason: Error | undefined): Promise<void>
  /** Interrupts on behalf of the lease numbered `seq`: nothing is sent once that lease is over. */
  interrupt(entry: PoolEntry<C>, seq: number, scope: InterruptScope): Promise<void>
}

const RESOLVED = Promise.resolve()

/**
 * One borrowing of one connection. Single-use: once released (or revoked by
 * the pool) every use throws, so a holder that keeps the object around can
 * never reach the connection the pool has since lent to someone else.
 */
export class Lease<C> {
  readonly id: number
  readonly #owner: LeaseOwner<C>
  readonly #entry: PoolEntry<C>
  readonly #seq: number
  #released = false

  /** @internal Leases are made by the pool. */
  constructor(owner: LeaseOwner<C>, entry: PoolEntry<C>, id: number) {
    this.#owner = owner
    this.#entry = entry
    this.#seq = entry.leaseSeq
    this.id = id
  }

  /** The driver's connection (a pg `Client`, a mysql2 `Connection`). Throws once released or revoked. */
  get connection(): C {
    this.#assertHeld()
    return this.#entry.handle.client
  }

  /** Still held: neither released nor revoked. */
  get isHeld(): boolean {
    return !this.#released && this.#seq === this.#entry.leaseSeq
  }

  /** Milliseconds since the lease was handed out. */
  get heldMillis(): number {
    return this.isHeld ? performance.now() - this.#entry.leasedAt : 0
  }

  /**
   * How many times the pool has reset this connection's session. Session
   * state set up at one generation (by a setup hook, say) is gone once the
   * number moves on.
   */
  get sessionGeneration(): number {
    this.#assertHeld()
    return this.#entry.sessionGeneration
  }

  /**
   * Declares the session as it is now the connection's baseline: with
   * `reset: 'auto'` what was changed so far no longer makes the release
   * reset it. For setup hooks that prepare every session the same way; a
   * later reset (for other changes) still wipes it, and moves
   * `sessionGeneration` on so the hook knows to run again.
   */
  acceptSession(): void {
    this.#assertHeld()
    this.#entry.handle.acceptSession()
  }

  /** The transaction state of the connection, from the protocol (no round trip). */
  transactionState(): TransactionState {
    this.#assertHeld()
    return this.#entry.handle.transactionState()
  }

  /**
   * Gives the connection back. The pool rolls back what was left open and
   * resets session state (per `reset`) before anyone else gets it. Releasing
   * twice rejects with `LeaseReleasedError`; releasing a lease the pool has
   * revoked is a no-op (the pool already took it back).
   */
  release(): Promise<void> {
    if (this.#released) {
      return Promise.reject(new LeaseReleasedError(this.id))
    }
    this.#released = true
    if (this.#seq !== this.#entry.leaseSeq) {
      return RESOLVED
    }
    return this.#owner.release(this.#entry, this.id)
  }

  /** Gives the connection back to be closed, never reused (e.g. it is known to be in a bad state). */
  destroy(reason?: Error): Promise<void> {
    if (this.#released) {
      return Promise.reject(new LeaseReleasedError(this.id))
    }
    this.#released = true
    if (this.#seq !== this.#entry.leaseSeq) {
      return RESOLVED
    }
    return this.#owner.discard(this.#entry, this.id, reason)
  }

  /**
   * Interrupts the running statement (`'query'`) or ends the server session
   * (`'session'`) from a side channel that needs no pool slot, so it works
   * while the pool is exhausted. Fenced: if the lease is released before the
   * side channel is ready, nothing is sent, so it can never reach the next
   * holder; after a `'session'` interrupt the connection is never lent again.
   */
  interrupt(scope: InterruptScope): Promise<void> {
    this.#assertHeld()
    return this.#owner.interrupt(this.#entry, this.#seq, scope)
  }

  /**
   * Says where the holder took this lease on, for leak reports, timeout
   * errors and `pool.holders()`, when the acquire's own stack cannot (a
   * library acquiring on its caller's behalf, e.g. a Kysely driver at
   * `BEGIN`). `site.stack` is read only if the lease is reported. No-op once
   * the lease is over.
   */
  noteSite(site: { readonly stack?: string }): void {
    if (this.isHeld) {
      this.#entry.acquireSite = site
    }
  }

  /**
   * `await using lease = await pool.acquire()`: released at the end of the
   * scope. A lease already released or revoked is left as it is (no error),
   * so an explicit `release()` inside the scope stays fine.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#released ? RESOLVED : this.release()
  }

  #assertHeld(): void {
    if (this.#released) {
      throw new LeaseReleasedError(this.id)
    }
    if (this.#seq !== this.#entry.leaseSeq) {
      throw new LeaseRevokedError(this.id, this.#entry.revokeReason ?? 'max-lease')
    }
  }
}
