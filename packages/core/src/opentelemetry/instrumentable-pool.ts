import type { PoolEventListener, PoolEventName } from '../pool/pool-events.js'
import type { PoolStats } from '../pool/pool-stats.js'

/**
 * The part of a `Pool` that the instrumentation reads: its name, its
 * snapshot and its events. Any `Pool<C>` fits, whatever its connection type.
 */
export interface InstrumentablePool {
  readonly name: string
  stats(): Pick<PoolStats, 'min' | 'max' | 'idle' | 'used' | 'pending'>
  on<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): unknown
  off<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): unknown
}
