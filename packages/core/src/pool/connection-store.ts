import { ConnectionState } from './connection-state.js'
import type { PoolEntry } from './pool-entry.js'

/**
 * Every connection of the pool, filed by state: the idle set (a stack, most
 * recently used on top), the taken list (reserved, leased or returning) and
 * a count of those being opened. Each method is one state move and the
 * matching list move in the same synchronous step, so a list can never hold
 * an entry whose state says it is elsewhere — the store has no other way to
 * change either.
 */
export class ConnectionStore<C> {
  readonly #idle: PoolEntry<C>[] = []
  readonly #taken: PoolEntry<C>[] = []
  #opening = 0

  get idleCount(): number {
    return this.#idle.length
  }

  /** Reserved, leased or returning. */
  get takenCount(): number {
    return this.#taken.length
  }

  /** Connections being opened (including an attempt waiting out its backoff). */
  get openingCount(): number {
    return this.#opening
  }

  /** Open or being opened: what counts against `max`. */
  get total(): number {
    return this.#idle.length + this.#taken.length + this.#opening
  }

  /** Counts one more connection being opened. */
  beginOpening(): void {
    this.#opening++
  }

  /** The attempt ended; if it produced `entry` (in `Opening`), it goes to `next` in the same step. */
  endOpening(
    entry?: PoolEntry<C>,
    next?: ConnectionState.Idle | ConnectionState.Reserved | ConnectionState.Evicted,
  ): void {
    this.#opening--
    if (entry !== undefined && next !== undefined) {
      this.#move(entry, next)
    }
  }

  /** Idle → Reserved: the most recently used idle connection, or `undefined`. */
  takeIdle(): PoolEntry<C> | undefined {
    const entry = this.#idle.pop()
    if (entry === undefined) {
      return undefined
    }
    entry.moveTo(ConnectionState.Reserved)
    entry.slot = this.#taken.length
    this.#taken.push(entry)
    return entry
  }

  /** Any move but out of Opening (see `endOpening`); Evicted takes it out of every list. */
  move(entry: PoolEntry<C>, next: ConnectionState): void {
    this.#move(entry, next)
  }

  /** Idle connections idle since before `cutoff`, beyond the `keep` most recently used: out of the idle set, evicted. */
  reapIdle(cutoff: number, keep: number): PoolEntry<C>[] {
    const idle = this.#idle
    const reaped: PoolEntry<C>[] = []
    // Oldest first, from the bottom of the stack; the top `keep` stay.
    for (let i = 0; i < idle.length - keep && idle[i]!.idleSince <= cutoff;) {
      const entry = idle[i]!
      this.#move(entry, ConnectionState.Evicted)
      reaped.push(entry)
    }
    return reaped
  }

  /** Taken connections (reserved, leased or returning), for the sweeper, `holders()` and shutdown. */
  taken(): readonly PoolEntry<C>[] {
    return this.#taken
  }

  idle(): readonly PoolEntry<C>[] {
    return this.#idle
  }

  #move(entry: PoolEntry<C>, next: ConnectionState): void {
    const from = entry.state
    entry.moveTo(next)
    const wasTaken =
      from === ConnectionState.Reserved || from === ConnectionState.Leased || from === ConnectionState.Returning
    const isTaken =
      next === ConnectionState.Reserved || next === ConnectionState.Leased || next === ConnectionState.Returning
    if (wasTaken && isTaken) {
      return
    }
    if (from === ConnectionState.Idle) {
      removeAt(this.#idle, this.#idle.indexOf(entry))
    } else if (wasTaken) {
      removeSwap(this.#taken, entry)
    }
    if (next === ConnectionState.Idle) {
      entry.slot = -1
      this.#idle.push(entry)
    } else if (isTaken) {
      entry.slot = this.#taken.length
      this.#taken.push(entry)
    } else {
      entry.slot = -1
    }
  }
}

function removeAt<T>(list: T[], index: number): void {
  if (index === list.length - 1) {
    list.pop()
  } else if (index >= 0) {
    list.splice(index, 1)
  }
}

/** Order in the taken list carries no meaning: swap-remove by the entry's slot, O(1). */
function removeSwap<C>(list: PoolEntry<C>[], entry: PoolEntry<C>): void {
  const index = entry.slot
  const last = list.pop()!
  if (last !== entry) {
    list[index] = last
    last.slot = index
  }
}
