import type { Pool } from '@kysely-pooled/core'
import type { DatabaseIntrospector, Dialect, DialectAdapter, Driver, Kysely, QueryCompiler } from 'kysely'
import { DialectPools } from './dialect-pools.js'
import type { PooledDriverSettings } from './pooled-driver.js'
import type { ResolvedDialectConfig } from './resolve-dialect-config.js'
import type { DialectTopology } from '../replicas/dialect-topology.js'

/** Kysely's own classes for one database, reused as they are. */
export interface KyselyDialectParts {
  readonly QueryCompiler: new () => QueryCompiler
  readonly Adapter: new () => DialectAdapter
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own introspector signature
  readonly Introspector: new (db: Kysely<any>) => DatabaseIntrospector
}

/**
 * What the Postgres and MySQL dialects share: the pools (see DialectPools),
 * and Kysely's stock compiler, adapter and introspector. Only the driver is ours.
 */
export abstract class PooledDialect<C> implements Dialect {
  readonly #settings: PooledDriverSettings<C>
  readonly #parts: KyselyDialectParts

  protected constructor(config: ResolvedDialectConfig<C>, parts: KyselyDialectParts) {
    this.#settings = Object.freeze({
      pools: new DialectPools(config),
      onCreateConnection: config.onCreateConnection,
      onReserveConnection: config.onReserveConnection,
      prepared: new WeakMap<object, number>(),
    })
    this.#parts = parts
  }

  /**
   * The core pool: stats, holders, events. Always the live pool of the
   * dialect, across the pools that Kysely instances coming and going make
   * and destroy; listeners attached here stay attached. With options it
   * exists from construction on; with a factory, from the first query on.
   * A `Pool` passed in to be shared is returned as it is.
   */
  get pool(): Pool<C> {
    return this.#settings.pools.handle
  }

  /**
   * With `replicas` or `connection` as an array: every server, its role, lag
   * and pool (`servers()`), and a `change` event when a server's role or
   * usability changes. Undefined for a single server.
   */
  get topology(): DialectTopology<C> | undefined {
    return this.#settings.pools.topology
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
