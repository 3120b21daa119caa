import type { Pool } from '@kysely-pooled/core'
import type { DatabaseIntrospector, Dialect, DialectAdapter, Driver, Kysely, QueryCompiler } from 'kysely'
import type { PooledDriverSettings } from './pooled-driver.js'

/** Kysely's own classes for one database, reused as they are. */
export interface KyselyDialectParts {
  readonly QueryCompiler: new () => QueryCompiler
  readonly Adapter: new () => DialectAdapter
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own introspector signature
  readonly Introspector: new (db: Kysely<any>) => DatabaseIntrospector
}

/**
 * What the Postgres and MySQL dialects share: the pool, made at construction,
 * and Kysely's stock compiler, adapter and introspector. Only the driver is ours.
 */
export abstract class PooledDialect<C> implements Dialect {
  readonly #settings: PooledDriverSettings<C>
  readonly #parts: KyselyDialectParts

  protected constructor(settings: PooledDriverSettings<C>, parts: KyselyDialectParts) {
    this.#settings = settings
    this.#parts = parts
  }

  /** The core pool: stats, holders, events. Exists from construction on. */
  get pool(): Pool<C> {
    return this.#settings.pool
  }

  protected get driverSettings(): PooledDriverSettings<C> {
    return this.#settings
  }

  abstract createDriver(): Driver

  createQueryCompiler(): QueryCompiler {
    return new this.#parts.QueryCompiler()
  }

  createAdapter(): DialectAdapter {
    return new this.#parts.Adapter()
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own Dialect signature
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new this.#parts.Introspector(db)
  }
}
