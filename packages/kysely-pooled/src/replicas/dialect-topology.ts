import type { ServerChange, ServerInfo } from './server-node.js'

/** `dialect.topology`: the servers of a dialect with replicas or candidate primaries. */
export interface DialectTopology {
  /** Every server: role, usability, lag, pool name. */
  servers(): ServerInfo[]
  /** A server's role or usability changed (down, back, promoted, too far behind, caught up). */
  on(event: 'change', listener: (change: ServerChange) => void): this
  off(event: 'change', listener: (change: ServerChange) => void): this
}
