import type { Pool, PoolOptions } from '@kysely-pooled/core'
import type { DatabaseConnection } from 'kysely'
import type { AbortOptions } from './abort-options.js'

/** `onCreateConnection` / `onReserveConnection`, as in Kysely's stock dialects. */
export type ConnectionHook = (connection: DatabaseConnection, options?: AbortOptions) => Promise<void>

/** What every pooled dialect's config has; the dialect configs add `connection` and their own extras. */
export interface PooledDialectConfigBase<C> {
  /**
   * Pool options (`max`, `acquireTimeoutMillis`, `maxLeaseMillis`, …), or an
   * existing core `Pool` to share. A shared pool is not destroyed by
   * `db.destroy()`: whoever created it destroys it.
   */
  readonly pool?: PoolOptions | Pool<C>
  /**
   * Called when a connection's session is new, before its first use: on a new
   * physical connection, and again after the pool reset the session (see the
   * README). Use it for per-session setup such as `set time zone`.
   */
  readonly onCreateConnection?: ConnectionHook
  /** Called every time a connection is acquired from the pool. */
  readonly onReserveConnection?: ConnectionHook
  /**
   * How long `db.destroy()` waits for connections still in use before it
   * revokes them (rolling back their transactions). Default 5000.
   */
  readonly destroyGraceMillis?: number
}

export const DEFAULT_DESTROY_GRACE_MILLIS = 5_000
