import type { Pool } from '@kysely-pooled/core'
import type { ServerChange, ServerInfo } from './server-node.js'

/** `dialect.topology`: the servers of a dialect with replicas or candidate primaries. */
export interface DialectTopology<C = unknown> {
  /** Every server: role, usability, lag, pool name. */
  servers(): ServerInfo[]
  /**
   * Every server's core pool, in the order of `servers()`: its own stats,
   * holders and events; `instrumentPool()` each for OpenTelemetry (the
   * metric's pool name is `<name>/primary:<host:port>` / `<name>/replica:<host:port>`).
   */
  pools(): Pool<C>[]
  /** A server's role or usability changed (down, back, promoted, too far behind, caught up). */
  on(event: 'change', listener: (change: ServerChange) => void): this
  off(event: 'change', listener: (change: ServerChange) => void): this
}
