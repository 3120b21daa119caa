import type { Pool, PoolOptions } from '@kysely-pooled/core'
import type { DatabaseConnection } from 'kysely'
import type { AbortOptions } from './abort-options.js'

/** `onCreateConnection` / `onReserveConnection`, as in Kysely's stock dialects. */
export type ConnectionHook = (connection: DatabaseConnection, options?: AbortOptions) => Promise<void>

/**
 * The stock dialects' pool factory: called when a Kysely instance first uses
 * the dialect and no pool of the dialect is alive (see the README). A `Pool`
 * it returns belongs to the dialect: it is destroyed with the last Kysely
 * instance using it, so return a new one on each call.
 */
export type PoolFactory<C> = (options?: AbortOptions) => PoolOptions | Pool<C> | Promise<PoolOptions | Pool<C>>

/** What every pooled dialect's config has; the dialect configs add `connection` and their own extras. */
export interface PooledDialectConfigBase<C> {
  /**
   * Pool options (`max`, `acquireTimeoutMillis`, `maxLeaseMillis`, …), an
   * existing core `Pool` to share, or a function returning either (sync or
   * async). A shared pool is not destroyed by `db.destroy()`: whoever
   * created it destroys it.
   * @default {} (the pool's defaults)
   */
  readonly pool?: PoolOptions | Pool<C> | PoolFactory<C>
  /**
   * Called when a connection's session is new, before its first use: on a new
   * physical connection, and again after the pool reset the session (see the
   * README). Use it for per-session setup such as `set time zone`.
   * @default none
   */
  readonly onCreateConnection?: ConnectionHook
  /**
   * Called every time a connection is acquired from the pool.
   * @default none
   */
  readonly onReserveConnection?: ConnectionHook
  /**
   * How long `db.destroy()` of the last Kysely instance on the dialect waits
   * for connections still in use before it revokes them (rolling back their
   * transactions).
   * @default 5000
   */
  readonly destroyGraceMillis?: number
  /**
   * Server-side limit on every statement (PostgreSQL `statement_timeout`;
   * MariaDB `max_statement_time`; MySQL `max_execution_time`, SELECTs only),
   * kept across session resets, plus a client-side guard for a dead path.
   * @default 0 (no limit)
   */
  readonly statementTimeoutMillis?: number
  /**
   * A replica further behind the primary than this gets no reads until it
   * catches up (see "Replicas and failover" in the README).
   * @default 2000
   */
  readonly maxReplicaLagMillis?: number
  /**
   * After a write, reads from the same async context (`readYourWritesScope`,
   * or the whole dialect outside any scope) go to the primary for this long;
   * 0 turns it off.
   * @default 1000
   */
  readonly readYourWritesMillis?: number
}

export const DEFAULT_DESTROY_GRACE_MILLIS = 5_000
