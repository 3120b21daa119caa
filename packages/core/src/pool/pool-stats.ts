import type { TimeFigures } from './time-figures.js'

/**
 * A snapshot of the pool. The gauges and counters map one to one onto the
 * OpenTelemetry `db.client.connection.*` metrics:
 *
 * | field | OpenTelemetry |
 * |---|---|
 * | `idle`, `used` | `db.client.connection.count` (`state` = `idle` / `used`) |
 * | `min`, `max` | `db.client.connection.idle.min`, `db.client.connection.max` |
 * | `pending` | `db.client.connection.pending_requests` |
 * | `timeouts` | `db.client.connection.timeouts` |
 * | `createMillis` | `db.client.connection.create_time` |
 * | `waitMillis` | `db.client.connection.wait_time` |
 * | `useMillis` | `db.client.connection.use_time` |
 */
export interface PoolStats {
  readonly name: string
  readonly min: number
  readonly max: number
  /** Open connections: idle + used. */
  readonly size: number
  readonly idle: number
  /** Leased, or being cleaned after release. */
  readonly used: number
  /** Callers waiting in the queue. */
  readonly pending: number
  /** Connections being opened right now. */
  readonly creating: number

  /** Leases handed out. */
  readonly acquires: number
  /** Callers that gave up after `acquireTimeoutMillis`. */
  readonly timeouts: number
  /** Callers refused because the queue held `maxWaiting`. */
  readonly queueFull: number
  /** Callers that left the queue through their `AbortSignal`. */
  readonly aborted: number
  readonly created: number
  readonly destroyed: number
  readonly createErrors: number
  /** Releases that had to roll back an open or failed transaction. */
  readonly rolledBackOnRelease: number
  /** Releases that had to reset session state. */
  readonly resetOnRelease: number
  /** Leases reported by leak detection. */
  readonly leaks: number
  /** Leases revoked (`maxLeaseMillis` or destroy). */
  readonly revoked: number
  /** Leases garbage-collected while held, whose connection the pool took back. */
  readonly reclaimed: number

  /** Time callers waited for a lease. */
  readonly waitMillis: TimeFigures
  /** Time leases were held. */
  readonly useMillis: TimeFigures
  /** Time to open a connection. */
  readonly createMillis: TimeFigures
}
