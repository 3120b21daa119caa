import type { Connector, InterruptScope } from '../connector/connector.js'
import type { LeaseRevokeReason } from '../errors/lease-revoked-error.js'
import { applicationFrame, type AcquireSite } from './acquire-site.js'
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
import type { TarnPool } from './tarn-pool.js'
import type { Waiters } from './waiters.js'

/**
 * The heart of the pool: every move of a connection between states happens
 * here. `handOver` is the one gate before a connection goes to a caller or
 * back to the idle set; `evict` the one way out; `lend` the one way to a
 * lease. Breaking is accepted in every state (`onBroken`).
 */
export class ConnectionLifecycle<C> {
  readonly supply: ConnectionSupply<C>
  readonly store: TarnPool<PoolEntry<C>>
  readonly #config: PoolConfig<C>
  readonly #metrics: PoolMetrics
  readonly #events: PoolEventBus
  readonly #waiters: Waiters<C>
  readonly #pipeline: ReleasePipeline<C>
  readonly #watch: LeaseWatch<C>
  readonly #owner: LeaseOwner<C>
  #leaseCounter = 0
  /** True once the pool is shutting down: the gate then evicts whatever comes back. */
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
      waiting: () => waiters.size,
      opened: () => this.serveFromIdle(),
      broke: (entry, error) => this.onBroken(entry, error),
      // Waiters fail at once only when no open connection could serve them.
      refused: (error) => {
        if (waiters.size > 0 && this.store.numFree() + this.store.numUsed() === 0) {
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
    })
    this.#watch = new LeaseWatch<C>(config, {
      taken: () => this.store.usedResources(),
      leaked: (entry, held) => this.reportLeak(entry, held),
      overdue: (entry) => this.revoke(entry, 'max-lease'),
      collected: (entry) => this.reclaim(entry),
    })
    this.#owner = {
      release: (entry, leaseId) => {
        const now = performance.now()
        const held = this.endLease(entry, now)
        if (events.wants('release')) {
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
      interrupt: (entry, seq, scope) => this.interrupt(entry, seq, scope),
    }
  }

  /** No more lease watching (shutdown). */
  stopWatching(): void {
    this.#watch.stop()
  }

  /** Hands idle connections (new ones, typically) to queued callers. */
  serveFromIdle(): void {
    while (this.#waiters.size > 0) {
      const entry = this.store.takeIdle()
      if (entry === undefined) {
        return
      }
      entry.moveTo(ConnectionState.Reserved)
      this.handOver(entry)
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
    entry.acquireSite = undefined
    const waiter = this.#waiters.next()
    if (waiter !== undefined) {
      waiter.resolve(this.lend(entry, waiter.startedAt, now, waiter.trackGc, waiter.site))
      return
    }
    entry.moveTo(ConnectionState.Idle)
    entry.idleSince = now
    if (this.#config.allowExitOnIdle) {
      entry.handle.setKeepsProcessAlive?.(false)
    }
    this.store.releaseResource(entry, now)
  }

  lend(entry: PoolEntry<C>, startedAt: number, now: number, trackGc: boolean, site: AcquireSite | undefined): Lease<C> {
    const leaseId = ++this.#leaseCounter
    entry.moveTo(ConnectionState.Leased)
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
    if (trackGc) {
      this.#watch.track(lease, entry)
    }
    this.#metrics.acquires++
    const waited = now - startedAt
    this.#metrics.waitTimes.record(waited)
    if (this.#events.wants('acquire')) {
      this.#events.emit('acquire', { leaseId, waitedMillis: waited })
    }
    return lease
  }

  /** Leased → Returning: the lease is over. Returns how long it was held. */
  endLease(entry: PoolEntry<C>, now: number): number {
    entry.moveTo(ConnectionState.Returning)
    this.#watch.untrack(entry)
    const held = now - entry.leasedAt
    this.#metrics.useTimes.record(held)
    this.onDrain?.()
    return held
  }

  /** The one way out of the pool, from any state; the connector closes the connection. */
  evict(entry: PoolEntry<C>, reason: DestroyReason): void {
    if (entry.state === ConnectionState.Evicted) {
      return
    }
    entry.moveTo(ConnectionState.Evicted)
    this.#metrics.destroyed++
    this.#watch.untrack(entry)
    this.#events.emit('destroy', { connectionId: entry.id, reason })
    if (!this.store.evict(entry)) {
      this.supply.closeStray(entry)
    }
    this.onDrain?.()
    this.supply.grow()
    this.supply.ensureMin()
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

  interrupt(entry: PoolEntry<C>, seq: number, scope: InterruptScope): Promise<void> {
    if (scope === 'session') {
      // Whether or not the kill lands, this session is never lent again.
      entry.sessionKilled = true
    }
    const work = entry.handle.interrupt(scope, () => entry.leaseSeq === seq && entry.state === ConnectionState.Leased)
    entry.interrupting = work
    void work.finally(() => {
      if (entry.interrupting === work) {
        entry.interrupting = undefined
      }
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
    // Cancel first: a server may keep running a statement whose client is gone.
    void entry.handle
      .interrupt('query', () => entry.state === ConnectionState.Returning)
      .finally(() => this.evict(entry, 'reclaimed'))
  }
}
