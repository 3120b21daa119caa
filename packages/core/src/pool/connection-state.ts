/**
 * Where one connection is in its life: the only truth about it. Every move
 * goes through `ConnectionStore`, which moves the entry between its lists
 * in the same step (`PoolEntry.moveTo` refuses the moves this table does
 * not allow), so the lists never disagree with the states.
 *
 * ```
 *   Opening ──admit──▶ Idle ──take──▶ Reserved ──lend──▶ Leased ──release/revoke──▶ Returning
 *      │                ▲                │  (validating)                               │ (cleaning,
 *      │                └──── gate ◀─────┴───────────────────────── gate ◀─────────────┘  fenced)
 *      └──admit (to a waiter)──▶ Reserved
 *   any state but Evicted ──evict──▶ Evicted (cancel if busy, then close). Final.
 * ```
 *
 * Breaking is not a state: it is an input accepted in every state (the
 * entry remembers it) and the gate before any hand-over (including the
 * first, out of Opening) turns it into an eviction.
 */
export const enum ConnectionState {
  /** Being opened (connect, `onConnect`): in no list, counted as creating. */
  Opening = 0,
  /** In the idle set, ready to be lent. */
  Idle = 1,
  /** Taken from the idle set (or just opened) for one caller: being validated or handed over. */
  Reserved = 2,
  /** Lent: a lease holds it. */
  Leased = 3,
  /** Released or revoked: being checked and cleaned before it is lent again. */
  Returning = 4,
  /** Out of the pool: closing or closed. Final. */
  Evicted = 5,
}

const to = (...states: ConnectionState[]): number => states.reduce((mask, state) => mask | (1 << state), 0)

/** Allowed moves, one bit mask per state. */
const ALLOWED: readonly number[] = [
  /* Opening */ to(ConnectionState.Idle, ConnectionState.Reserved, ConnectionState.Evicted),
  /* Idle */ to(ConnectionState.Reserved, ConnectionState.Evicted),
  /* Reserved */ to(ConnectionState.Idle, ConnectionState.Leased, ConnectionState.Evicted),
  /* Leased */ to(ConnectionState.Returning),
  /* Returning */ to(ConnectionState.Idle, ConnectionState.Leased, ConnectionState.Evicted),
  /* Evicted */ 0,
]

const NAMES = ['opening', 'idle', 'reserved', 'leased', 'returning', 'evicted'] as const

export function canMove(from: ConnectionState, next: ConnectionState): boolean {
  return (ALLOWED[from]! & (1 << next)) !== 0
}

export function stateName(state: ConnectionState): (typeof NAMES)[number] {
  return NAMES[state]!
}
