import type { Connector, InterruptScope } from '../connector/connector.js'
import type { LeaseRevokeReason } from '../errors/lease-revoked-error.js'
import { applicationFrame, type AcquireSite } from './acquire-site.js'
import { settleBefore } from './settle-before.js'
import { ConnectionState } from './connection-state.js'
import { ConnectionSupply } from './connection-supply.js'
import { Lease, type LeaseOwner } from './lease.js'
import { LeaseWatch } from './lease-watch.js'
import type { PoolEventBus } from './pool-event-bus.js'
import type { DestroyReason } from './pool-events.js'
import type { PoolEntry } from './pool-entry.js'
import type { PoolMetrics } from './pool-metrics.js'
import type { PoolConfig } from './pool-options.js'
import { ReleasePipeline } from './release-pipeline.js'
import type { ConnectionStore } from './connection-store.js'
import type { Waiters } from './waiters.js'

/**
 * The heart of the pool: every move of a connection between states happens
 * here (through the store, which files it by state in the same step).
 * `admit` takes a new connection in; `handOver` is the one gate before a
 * connection goes to a caller or back to the idle set; `evict` the one way
 * out (cancelling a busy connection's statement before closing it); `lend`
 * the one way to a lease; `interrupt` the one way any part of the pool, or
 * a holder, interrupts a connection's work — tracked on the entry, so that
 * the release pipeline hands it to nobody before every interrupt completed.
 * Breaking is accepted in every state (`onBroken`).
 */
export class ConnectionLifecycle<C> {
  readonly supply: ConnectionSupply<C>
  readonly store: ConnectionStore<C>
  readonly #config: PoolConfig<C>
  readonly #metrics: PoolMetrics
  readonly #events: PoolEventBus
  readonly #waiters: Waiters<C>
  readonly #pipeline: ReleasePipeline<C>
  readonly #watch: LeaseWatch<C>
  readonly #owner: LeaseOwner<C>
  #leaseCounter = 0
  /** Closes in flight: `destroy()` resolves only once they have ended. */
  readonly #work = new Set<Promise<void>>()
  /** Interrupts in flight, pool-wide: `destroy()` waits for them too (bounded). */
  readonly #interrupts = new Set<Promise<void>>()
  /** The pool's one shutdown flag: the gate then evicts whatever comes back, the supply opens nothing. */
  closing = false
  /** Set while `destroy()` waits: told whenever a lease ends or a connection leaves. */
  onDrain: (() => void) | undefined

  constructor(
    connector: Connector<C>,
    config: PoolConfig<C>,
    metrics: PoolMetrics,
    events: PoolEventBus,
    waiters: Waiters<C>,
  ) {
    this.#config = config
    this.#metrics = metrics
    this.#events = events
    this.#waiters = waiters
    this.supply = new ConnectionSupply(connector, config, metrics, events, {
      closing: () => this.closing,
      waiting: () => waiters.size,
      opened: (entry) => this.admit(entry),
      reap: () => this.reap(),
      broke: (entry, error) => this.onBroken(entry, error),
      // Waiters fail at once only when no open connection could serve them.
      refused: (error) => {
        if (waiters.size > 0 && this.store.idleCount + this.store.takenCount === 0) {
          waiters.failAll(error)
          return true
        }
        return false
      },
    })
    this.store = this.supply.store
    this.#pipeline = new ReleasePipeline(config, metrics, events, {
      handOver: (entry, now) => this.handOver(entry, now),
      evict: (entry, reason) => this.evict(entry, reason),
      interrupt: (entry, scope, isCurrent) => this.interrupt(entry, scope, isCurrent),
    })
    this.#watch = new LeaseWatch<C>(config, {
      // A copy: a revoke during the sweep may evict, which reorders the list.
      taken: () => [...this.store.taken()],
      leaked: (entry, held) => this.reportLeak(entry, held),
      overdue: (entry) => this.revoke(entry, 'max-lease'),
      collected: (entry) => this.reclaim(entry),
    })
    this.#owner = {
      release: (entry, leaseId) => {
        const now = performance.now()
        const held = this.endLease(entry, now)
        if (events.wantsRelease) {
          events.emit('release', { leaseId, heldMillis: held })
        }
        return this.#pipeline.run(entry, leaseId, now)
      },
      discard: (entry, leaseId, reason) => {
        this.endLease(entry, performance.now())
        if (reason !== undefined && events.wants('error')) {
          events.emit('error', { error: reason, context: `lease #${leaseId} discarded its connection` })
        }
        this.evict(entry, 'discarded')
        return Promise.resolve()
      },
      interrupt: (entry, seq, scope) => {
        if (scope === 'session') {
          // Whether or not the kill lands, this session is never lent again.
          entry.sessionKilled = true
        }
        return this.interrupt(entry, scope, () => entry.leaseSeq === seq && entry.state === ConnectionState.Leased)
      },
    }
  }

  /** No more lease watching (shutdown). */
  stopWatching(): void {
    this.#watch.stop()
  }

  /**
   * A new connection's first move, out of Opening: straight to a queued
   * caller (through the gate), into the idle set, or — broken while it was
   * being opened, or opened during shutdown — out.
   */
  admit(entry: PoolEntry<C>): void {
    const store = this.store
    if (this.closing || entry.isBroken) {
      this.evict(entry, this.closing ? 'pool-destroyed' : 'broken')
      return
    }
    if (this.#waiters.size > 0) {
      store.endOpening(entry, ConnectionState.Reserved)
      this.handOver(entry)
      return
    }
    store.endOpening(entry, ConnectionState.Idle)
  }

  /** The reaper: idle connections past `idleTimeoutMillis`, beyond those `min` still needs, are closed. */
  reap(): void {
    const store = this.store
    const idle = store.idle()
    const keep = Math.max(0, this.#config.min - store.takenCount)
    const cutoff = performance.now() - this.#config.idleTimeoutMillis
    // Oldest at the bottom of the stack; the `keep` most recently used stay.
    let due = 0
    while (due < idle.length - keep && idle[due]!.idleSince <= cutoff) {
      due++
    }
    for (const entry of idle.slice(0, due)) {
      this.evict(entry, 'idle')
    }
  }

  /**
   * The gate: the only way a reserved or returning connection goes to a
   * caller or back to the idle set. It re-checks what may have changed
   * while nobody looked (a break, retirement, shutdown).
   */
  handOver(entry: PoolEntry<C>, now: number = performance.now()): void {
    if (this.closing || entry.isBroken || now >= entry.retireAt) {
      this.evict(entry, this.closing ? 'pool-destroyed' : entry.isBroken ? 'broken' : 'retired')
      return
    }
    if (entry.interrupts.size !== 0) {
      // The fence: an interrupt still on its way could reach the next holder's statement.
      void entry.interruptsDone().then(() => this.handOver(entry))
      return
    }
    entry.acquireSite = undefined
    const waiter = this.#waiters.next()
    if (waiter !== undefined) {
      waiter.resolve(this.lend(entry, waiter.startedAt, now, waiter.trackGc, waiter.site))
      return
    }
    entry.idleSince = now
    if (this.#config.allowExitOnIdle) {
      entry.handle.setKeepsProcessAlive?.(false)
    }
    this.store.move(entry, ConnectionState.Idle)
  }

  lend(entry: PoolEntry<C>, startedAt: number, now: number, trackGc: boolean, site: AcquireSite | undefined): Lease<C> {
    const leaseId = ++this.#leaseCounter
    this.store.move(entry, ConnectionState.Leased)
    entry.leaseSeq++
    entry.leaseId = leaseId
    entry.leasedAt = now
    entry.uses++
    entry.leakReported = false
    entry.revokeReason = undefined
    entry.acquireSite = site
    if (this.#config.allowExitOnIdle) {
      entry.handle.setKeepsProcessAlive?.(true)
    }
    const lease = new Lease(this.#owner, entry, leaseId)
    // During shutdown the watch is stopped: its nursery timer must not start again.
    if (trackGc && !this.closing) {
      this.#watch.track(lease, entry)
    }
    this.#metrics.acquires++
    const waited = now - startedAt
    this.#metrics.waitTimes.record(waited)
    if (this.#events.wantsAcquire) {
      this.#events.emit('acquire', { leaseId, waitedMillis: waited })
    }
    return lease
  }

  /** Leased → Returning: the lease is over. Returns how long it was held. */
  endLease(entry: PoolEntry<C>, now: number): number {
    this.store.move(entry, ConnectionState.Returning)
    this.#watch.untrack(entry)
    const held = now - entry.leasedAt
    this.#metrics.useTimes.record(held)
    this.onDrain?.()
    return held
  }

  /**
   * The one way out of the pool, from any state: out of every list at once,
   * then closed — after cancelling its statement if one still runs (a
   * server keeps running a statement whose client is gone).
   */
  evict(entry: PoolEntry<C>, reason: DestroyReason): void {
    const from = entry.state
    if (from === ConnectionState.Evicted) {
      return
    }
    if (from === ConnectionState.Opening) {
      this.store.endOpening(entry, ConnectionState.Evicted)
    } else {
      this.store.move(entry, ConnectionState.Evicted)
    }
    this.#metrics.destroyed++
    this.#watch.untrack(entry)
    this.#events.emit('destroy', { connectionId: entry.id, reason })
    this.#track(this.#close(entry))
    this.onDrain?.()
    this.supply.grow()
    this.supply.ensureMin()
  }

  /** Resolves once every close the pool started has ended (sockets closed, timers cleared). */
  async settled(): Promise<void> {
    while (this.#work.size > 0) {
      await Promise.all(this.#work)
    }
  }

  /** Resolves once every interrupt in flight has completed (each is bounded by the connector's interruptTimeoutMillis). */
  async interruptsSettled(): Promise<void> {
    while (this.#interrupts.size > 0) {
      await Promise.all(this.#interrupts)
    }
  }

  async #close(entry: PoolEntry<C>): Promise<void> {
    const handle = entry.handle
    // Cancel first, but within cleanupTimeoutMillis: on a dead path no cancel
    // arrives, and the close (which ends the handle's interrupts too) is what
    // releases the caller still waiting on the statement.
    const deadline = performance.now() + this.#config.cleanupTimeoutMillis
    if (entry.interrupts.size !== 0) {
      await settleBefore(entry.interruptsDone(), deadline)
    }
    if (
      handle.isBusy() &&
      handle.isSettling?.() !== true &&
      !handle.isBroken() &&
      entry.cancelledSeq !== entry.leaseSeq
    ) {
      // The handle's own fence sends nothing once no statement runs.
      await settleBefore(
        this.interrupt(entry, 'query', () => true),
        deadline,
      )
    }
    await handle.close()
  }

  #track(work: Promise<void>): void {
    this.#work.add(work)
    void work.finally(() => this.#work.delete(work))
  }

  /** A break is accepted in every state; whoever holds the connection now sees it at its next check. */
  onBroken(entry: PoolEntry<C>, error: Error): void {
    if (entry.brokenError !== undefined || entry.state === ConnectionState.Evicted) {
      return
    }
    entry.brokenError = error
    if (entry.state === ConnectionState.Idle) {
      this.evict(entry, 'broken')
    }
    // A session a holder asked to kill was meant to die.
    if (!entry.sessionKilled) {
      this.#events.error(error, `connection #${entry.id} broke`)
    }
  }

  /**
   * The one interrupt path (holder, release pipeline, revoke, reclaim,
   * eviction, shutdown): the handle asks `isCurrent` right before it sends;
   * until the interrupt completed (PostgreSQL: the server closed the cancel
   * socket, which it does after signalling the backend; MySQL: `KILL QUERY`
   * returned) the entry counts it and the gate lends the connection to nobody.
   */
  interrupt(entry: PoolEntry<C>, scope: InterruptScope, isCurrent: () => boolean): Promise<void> {
    // Never rejects, by the handle's contract; a handle that breaks it must not stall the fence.
    if (scope === 'query') {
      entry.cancelledSeq = entry.leaseSeq
    }
    const work = entry.handle.interrupt(scope, isCurrent).catch(() => {})
    entry.interrupts.add(work)
    this.#interrupts.add(work)
    void work.finally(() => {
      entry.interrupts.delete(work)
      this.#interrupts.delete(work)
    })
    return work
  }

  // ------------------------------------------------------ abandoned leases

  reportLeak(entry: PoolEntry<C>, held: number): void {
    this.#metrics.leaks++
    const stack = entry.acquireSite?.stack
    const acquiredAt = applicationFrame(stack)
    const heldMillis = Math.round(held)
    this.#events.emitOrWarn(
      'leak',
      { leaseId: entry.leaseId, heldMillis, ...(acquiredAt ? { acquiredAt } : {}), ...(stack ? { stack } : {}) },
      'KYSELY_POOLED_LEAK',
      `lease #${entry.leaseId} held for ${heldMillis} ms (leakDetectionMillis ${this.#config.leakDetectionMillis})` +
        (acquiredAt ? `, acquired at ${acquiredAt}` : ''),
    )
  }

  /** Takes a lease back from its holder (later use throws `LeaseRevokedError`) and cleans its connection. */
  revoke(entry: PoolEntry<C>, reason: LeaseRevokeReason): void {
    if (entry.state !== ConnectionState.Leased) {
      return
    }
    const leaseId = entry.leaseId
    const now = performance.now()
    entry.revokeReason = reason
    entry.leaseSeq++
    this.#metrics.revoked++
    const held = Math.round(this.endLease(entry, now))
    const payload = { leaseId, heldMillis: held, reason }
    if (reason === 'max-lease') {
      this.#events.emitOrWarn(
        'revoke',
        payload,
        'KYSELY_POOLED_REVOKE',
        `lease #${leaseId} revoked after ${held} ms (maxLeaseMillis)`,
      )
    } else {
      this.#events.emit('revoke', payload)
    }
    void this.#pipeline.run(entry, leaseId, now)
  }

  /** A lease dropped while held: whatever its holder was doing is unknown, so the connection is closed. */
  reclaim(entry: PoolEntry<C>): void {
    if (entry.state !== ConnectionState.Leased) {
      return
    }
    const leaseId = entry.leaseId
    entry.revokeReason = 'garbage-collected'
    entry.leaseSeq++
    this.#metrics.reclaimed++
    const held = Math.round(this.endLease(entry, performance.now()))
    this.#events.emitOrWarn(
      'revoke',
      { leaseId, heldMillis: held, reason: 'garbage-collected' },
      'KYSELY_POOLED_REVOKE',
      `lease #${leaseId} was garbage-collected while held (after ${held} ms); its connection was closed`,
    )
    // Eviction cancels a statement still running before it closes.
    this.evict(entry, 'reclaimed')
  }
}
