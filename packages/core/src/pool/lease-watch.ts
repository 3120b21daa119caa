import { ConnectionState } from './connection-state.js'
import type { Lease } from './lease.js'
import type { PoolEntry } from './pool-entry.js'

export interface LeaseWatchSettings {
  readonly leakDetectionMillis: number
  readonly maxLeaseMillis: number
}

export interface LeaseWatchHandlers<C> {
  /** Connections taken out of the idle set (the watch looks only at the leased ones). */
  taken(): readonly PoolEntry<C>[]
  /** Held past `leakDetectionMillis` (reported once per lease). */
  leaked(entry: PoolEntry<C>, heldMillis: number): void
  /** Held past `maxLeaseMillis`. */
  overdue(entry: PoolEntry<C>): void
  /** Its lease was garbage-collected while held. */
  collected(entry: PoolEntry<C>): void
}

// How long a new lease waits before it is registered for garbage-collection
// tracking, and how many may wait (see `track`).
const NURSERY_MILLIS = 20
const NURSERY_SIZE = 256

/**
 * Watches held leases: one sweeper interval (not a timer per lease) reports
 * leaks and finds leases held past `maxLeaseMillis`; a FinalizationRegistry
 * finds leases dropped without a release.
 */
export class LeaseWatch<C> {
  readonly #settings: LeaseWatchSettings
  readonly #handlers: LeaseWatchHandlers<C>
  readonly #registry: FinalizationRegistry<PoolEntry<C>>
  readonly #sweeper: ReturnType<typeof setInterval> | undefined
  // Fixed slots, reused: tracking a lease allocates nothing.
  readonly #nurseryLeases: Array<Lease<C> | undefined> = new Array(NURSERY_SIZE).fill(undefined)
  readonly #nurseryEntries: Array<PoolEntry<C> | undefined> = new Array(NURSERY_SIZE).fill(undefined)
  #nurseryCount = 0
  #nurseryTimer: ReturnType<typeof setTimeout> | undefined

  constructor(settings: LeaseWatchSettings, handlers: LeaseWatchHandlers<C>) {
    this.#settings = settings
    this.#handlers = handlers
    this.#registry = new FinalizationRegistry((entry) => {
      entry.gcTracked = false
      handlers.collected(entry)
    })
    // A tenth of each limit, at most 5 s late for a leak report (on by default,
    // a minute) and 1 s for a revoke.
    const every = Math.min(
      settings.leakDetectionMillis > 0 ? Math.min(5_000, settings.leakDetectionMillis / 10) : Infinity,
      settings.maxLeaseMillis > 0 ? Math.min(1_000, settings.maxLeaseMillis / 10) : Infinity,
    )
    if (every !== Infinity) {
      this.#sweeper = setInterval(() => this.#sweep(), Math.max(5, Math.floor(every)))
      this.#sweeper.unref()
    }
  }

  /**
   * Registering every lease with the FinalizationRegistry costs about as
   * much as the rest of an acquire and release together, and almost every
   * lease is released within milliseconds. So leases wait in a nursery
   * (held strongly: none can be collected unseen) and only those still held
   * when it is adopted, a few milliseconds later, are registered.
   */
  track(lease: Lease<C>, entry: PoolEntry<C>): void {
    // Bounded: a burst that never yields to the timer adopts as it goes.
    if (this.#nurseryCount === NURSERY_SIZE) {
      this.#adopt()
    }
    const slot = this.#nurseryCount++
    this.#nurseryLeases[slot] = lease
    this.#nurseryEntries[slot] = entry
    this.#nurseryTimer ??= setTimeout(() => this.#adopt(), NURSERY_MILLIS).unref()
  }

  untrack(entry: PoolEntry<C>): void {
    if (entry.gcTracked) {
      entry.gcTracked = false
      this.#registry.unregister(entry)
    }
  }

  stop(): void {
    clearInterval(this.#sweeper)
    clearTimeout(this.#nurseryTimer)
    this.#nurseryTimer = undefined
    this.#nurseryLeases.fill(undefined)
    this.#nurseryEntries.fill(undefined)
    this.#nurseryCount = 0
  }

  #adopt(): void {
    clearTimeout(this.#nurseryTimer)
    this.#nurseryTimer = undefined
    const leases = this.#nurseryLeases
    const entries = this.#nurseryEntries
    const count = this.#nurseryCount
    this.#nurseryCount = 0
    for (let i = 0; i < count; i++) {
      const lease = leases[i]!
      const entry = entries[i]!
      // Emptied as it goes: a slot must not keep a dropped lease alive.
      leases[i] = undefined
      entries[i] = undefined
      if (lease.isHeld && !entry.gcTracked) {
        entry.gcTracked = true
        this.#registry.register(lease, entry, entry)
      }
    }
  }

  #sweep(): void {
    const { leakDetectionMillis, maxLeaseMillis } = this.#settings
    const now = performance.now()
    for (const entry of this.#handlers.taken()) {
      if (entry.state !== ConnectionState.Leased) {
        continue
      }
      const held = now - entry.leasedAt
      if (leakDetectionMillis > 0 && !entry.leakReported && held >= leakDetectionMillis) {
        entry.leakReported = true
        this.#handlers.leaked(entry, held)
      }
      if (maxLeaseMillis > 0 && held >= maxLeaseMillis) {
        this.#handlers.overdue(entry)
      }
    }
  }
}
