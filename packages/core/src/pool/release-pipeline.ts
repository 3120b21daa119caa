import type { InterruptScope } from '../connector/connector.js'
import type { DestroyReason } from './pool-events.js'
import type { PoolEventBus } from './pool-event-bus.js'
import { asError } from './pool-event-bus.js'
import type { PoolEntry } from './pool-entry.js'
import type { PoolMetrics } from './pool-metrics.js'
import type { PoolConfig } from './pool-options.js'
import { settleBefore } from './settle-before.js'

/** What a returning connection needs, decided once from protocol state. */
export const enum Verdict {
  /** Nothing to do: straight back (zero round trips, no await). */
  Clean,
  /** A statement is still running: interrupt it, then clean. */
  Busy,
  /** A transaction is open or failed, or a holder's interrupt is still under way: clean. */
  Dirty,
  /** Only the session changed: reset it. */
  Session,
  /** Close it: broken, session killed, retired or worn out. */
  Evict,
}

export interface ReleaseTarget<C> {
  /** The gate: back to a waiter or the idle set, or evicted if it may not go back (broken, retired). `now`: a clock reading the caller has. */
  handOver(entry: PoolEntry<C>, now?: number): void
  evict(entry: PoolEntry<C>, reason: DestroyReason): void
  /** The pool's one interrupt path: tracked on the entry until it completed. */
  interrupt(entry: PoolEntry<C>, scope: InterruptScope, isCurrent: () => boolean): Promise<void>
}

const RESOLVED = Promise.resolve()

/**
 * The release pipeline: verdict → settle → rollback → reset → gate.
 * Every step after the verdict is bounded by `cleanupTimeoutMillis`; a
 * connection that cannot be made clean in time is evicted (its socket
 * destroyed), never lent again. The slot stays taken until then, so `max`
 * is never exceeded.
 */
export class ReleasePipeline<C> {
  readonly #config: PoolConfig<C>
  readonly #metrics: PoolMetrics
  readonly #events: PoolEventBus
  readonly #target: ReleaseTarget<C>

  constructor(config: PoolConfig<C>, metrics: PoolMetrics, events: PoolEventBus, target: ReleaseTarget<C>) {
    this.#config = config
    this.#metrics = metrics
    this.#events = events
    this.#target = target
  }

  /**
   * Takes back a returning connection. Resolves once it is back in the pool
   * or closed — except when a statement is still running: then the
   * statement is interrupted at once and the cleaning goes on in the
   * background, so the caller does not wait for it.
   */
  run(entry: PoolEntry<C>, leaseId: number, now: number): Promise<void> {
    switch (this.verdict(entry, now)) {
      case Verdict.Clean:
        // The gate checks broken and retired: the verdict left that to it.
        this.#target.handOver(entry, now)
        return RESOLVED
      case Verdict.Evict:
        this.#target.evict(entry, this.#evictReason(entry, now))
        return RESOLVED
      case Verdict.Busy:
        void this.#clean(entry, leaseId)
        return RESOLVED
      default:
        return this.#clean(entry, leaseId)
    }
  }

  /**
   * A clean connection's broken / retired check is the gate's (one check
   * per release); any other is checked here, before work is spent on it.
   */
  verdict(entry: PoolEntry<C>, now: number): Verdict {
    const maxUses = this.#config.maxUses
    if (maxUses > 0 && entry.uses >= maxUses) {
      return Verdict.Evict
    }
    const handle = entry.handle
    let verdict: Verdict
    if (handle.isBusy()) {
      // A statement that already failed only waits for the server's ready
      // message: clean in the foreground, nothing to interrupt.
      verdict = handle.isSettling?.() === true ? Verdict.Dirty : Verdict.Busy
    } else if (handle.transactionState() !== 'idle' || entry.interrupts.size !== 0) {
      verdict = Verdict.Dirty
    } else if (this.#needsReset(entry)) {
      verdict = Verdict.Session
    } else {
      return Verdict.Clean
    }
    return entry.isBroken || now >= entry.retireAt ? Verdict.Evict : verdict
  }

  #needsReset(entry: PoolEntry<C>): boolean {
    const policy = this.#config.reset
    return policy === 'always' || (policy === 'auto' && entry.handle.isSessionChanged())
  }

  #evictReason(entry: PoolEntry<C>, now: number): DestroyReason {
    if (entry.isBroken) {
      return 'broken'
    }
    return now >= entry.retireAt ? 'retired' : 'max-uses'
  }

  /** Makes a dirty connection clean, or evicts it. Never rejects. */
  async #clean(entry: PoolEntry<C>, leaseId: number): Promise<void> {
    const handle = entry.handle
    const deadline = performance.now() + this.#config.cleanupTimeoutMillis
    const target = this.#target
    try {
      if (handle.isBusy()) {
        if (handle.isSettling?.() !== true) {
          // Tracked like every interrupt: the fence below waits for it.
          const seq = entry.leaseSeq
          void target.interrupt(entry, 'query', () => entry.leaseSeq === seq && !handle.isBroken())
        }
        if ((await settleBefore(handle.whenIdle(), deadline)) !== 'done') {
          return target.evict(entry, 'dirty')
        }
      }
      // The fence: every interrupt sent on this connection (this one, a
      // holder's) must have completed, and the connection be idle after it,
      // before anyone else gets it — else a cancel the server applies late
      // lands on the next holder's statement.
      if (entry.interrupts.size !== 0) {
        if ((await settleBefore(entry.interruptsDone(), deadline)) !== 'done') {
          return target.evict(entry, 'dirty')
        }
        if (handle.isBusy() && (await settleBefore(handle.whenIdle(), deadline)) !== 'done') {
          return target.evict(entry, 'dirty')
        }
      }
      if (entry.isBroken) {
        return target.evict(entry, 'broken')
      }
      const state = handle.transactionState()
      if (state !== 'idle') {
        if (!(await this.#step(handle.rollback(), deadline, entry, leaseId, 'rolling back'))) {
          return
        }
        if (handle.transactionState() !== 'idle') {
          return target.evict(entry, 'dirty')
        }
        this.#metrics.rolledBack++
        this.#events.emit('rollback', { leaseId, state })
      }
      if (this.#needsReset(entry)) {
        if (!(await this.#step(handle.resetSession(), deadline, entry, leaseId, 'resetting the session'))) {
          return
        }
        entry.sessionGeneration++
        this.#metrics.reset++
        this.#events.emit('reset', { leaseId })
        const onConnect = this.#config.onConnect
        if (onConnect !== undefined) {
          // The reset undid the setup hook's baseline: set it up again.
          if (
            !(await this.#step(
              Promise.resolve().then(() => onConnect(handle.client)),
              deadline,
              entry,
              leaseId,
              'onConnect',
            ))
          ) {
            return
          }
          handle.acceptSession()
        }
      }
      target.handOver(entry)
    } catch (error) {
      this.#events.error(asError(error), `cleaning the connection of lease #${leaseId}`)
      target.evict(entry, 'dirty')
    }
  }

  /** One cleaning statement; false (and the connection evicted) when it failed or ran out of time. */
  async #step(
    work: Promise<unknown>,
    deadline: number,
    entry: PoolEntry<C>,
    leaseId: number,
    what: string,
  ): Promise<boolean> {
    let failure: unknown
    const outcome = await settleBefore(
      work.catch((error: unknown) => {
        failure = error
        throw error
      }),
      deadline,
    )
    if (outcome === 'done') {
      return true
    }
    if (outcome === 'failed' && !entry.isBroken) {
      this.#events.error(asError(failure), `${what} for lease #${leaseId}`)
    }
    this.#target.evict(entry, entry.isBroken ? 'broken' : 'dirty')
    return false
  }
}
