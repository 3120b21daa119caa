/**
 * Where one connection is in its life. Every move goes through
 * `PoolEntry.moveTo`, which refuses the moves this table does not allow.
 *
 * ```
 *   Idle ──take──▶ Reserved ──lend──▶ Leased ──release/revoke──▶ Returning
 *    ▲                │  (validating)                               │ (cleaning)
 *    └──── gate ◀─────┴───────────────────────── gate ◀─────────────┘
 *   any state but Evicted ──evict──▶ Evicted (closing / closed)
 * ```
 *
 * Breaking is not a state: it is an input accepted in every state (the
 * entry remembers it) and the gate before any hand-over turns it into an
 * eviction.
 */
export const enum ConnectionState {
  /** In the idle set, ready to be lent. */
  Idle = 0,
  /** Taken from the idle set (or just opened) for one caller: being validated or handed over. */
  Reserved = 1,
  /** Lent: a lease holds it. */
  Leased = 2,
  /** Released or revoked: being checked and cleaned before it is lent again. */
  Returning = 3,
  /** Out of the pool: closing or closed. Final. */
  Evicted = 4,
}

const to = (...states: ConnectionState[]): number => states.reduce((mask, state) => mask | (1 << state), 0)

/** Allowed moves, one bit mask per state. */
const ALLOWED: readonly number[] = [
  /* Idle */ to(ConnectionState.Reserved, ConnectionState.Evicted),
  /* Reserved */ to(ConnectionState.Idle, ConnectionState.Leased, ConnectionState.Evicted),
  /* Leased */ to(ConnectionState.Returning),
  /* Returning */ to(ConnectionState.Idle, ConnectionState.Leased, ConnectionState.Evicted),
  /* Evicted */ 0,
]

const NAMES = ['idle', 'reserved', 'leased', 'returning', 'evicted'] as const

export function canMove(from: ConnectionState, next: ConnectionState): boolean {
  return (ALLOWED[from]! & (1 << next)) !== 0
}

export function stateName(state: ConnectionState): (typeof NAMES)[number] {
  return NAMES[state]!
}
