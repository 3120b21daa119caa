import { captureAcquireSite, type AcquireOptions, type Lease, type Pool } from '@kysely-pooled/core'
import {
  CompiledQuery,
  createQueryId,
  IdentifierNode,
  RawNode,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type TransactionSettings,
} from 'kysely'
import type { AbortOptions } from './abort-options.js'
import type { DialectPools, PoolGeneration } from './dialect-pools.js'
import { LazyConnection, type Binder } from './lazy-connection.js'
import type { LeaseConnection } from './lease-connection.js'
import type { ConnectionHook } from './pooled-dialect-config.js'
import { ALWAYS_BIND, type StatementRouter } from './statement-route.js'
import { replicaRouter } from '../replicas/replica-router.js'
import type { Topology } from '../replicas/topology.js'

/** What a dialect hands each of its drivers (one per Kysely instance). */
export interface PooledDriverSettings<C> {
  readonly pools: DialectPools<C>
  readonly onCreateConnection?: ConnectionHook | undefined
  readonly onReserveConnection?: ConnectionHook | undefined
  /**
   * Physical connections whose session `onCreateConnection` has prepared,
   * mapped to the session generation it prepared (see `#isSessionNew`).
   * The dialect's, not a driver's: a session prepared for one Kysely
   * instance is prepared for all. Weak, so closed connections drop out.
   */
  readonly prepared: WeakMap<object, number>
}

/**
 * The part of a Kysely `Driver` that is the same for every database: lazy
 * binding (see `LazyConnection`), acquire and release through the core pool,
 * savepoints, rollback, destroy. The subclasses only say how their database
 * begins and commits, and may route statements of unbound handles elsewhere
 * (`createRouter`).
 */
export abstract class PooledDriver<C> implements Driver {
  readonly #settings: PooledDriverSettings<C>
  /** Set by `init`, read on every acquire: the common path reads one field. */
  #pool!: Pool<C>
  #generation: PoolGeneration<C> | undefined
  /** Where the call that made Kysely init this driver came from (see `init`). */
  #initSite: AcquireOptions['site']
  readonly #hasHooks: boolean
  #binder!: Binder
  /** With replicas or failover: the servers, which the statements of unbound handles and the binds go through. */
  #topology: Topology<C> | undefined
  /** Handles that began a transaction: their release ends a write (read-your-writes). */
  readonly #transactions = new WeakSet<LazyConnection>()
  /** Handles of this driver bound to an exclusive connection right now. */
  #exclusive = 0
  #bindsWaiting = 0

  constructor(settings: PooledDriverSettings<C>) {
    this.#settings = settings
    this.#hasHooks = settings.onCreateConnection !== undefined || settings.onReserveConnection !== undefined
  }

  /** The `release …` form of this database's savepoint release command. */
  protected abstract readonly releaseSavepointCommand: string

  protected abstract createConnection(lease: Lease<C>): LeaseConnection<C>

  /** Sends the database's begin on a bound connection. */
  protected abstract begin(connection: LeaseConnection<C>, settings: TransactionSettings): Promise<void>

  /**
   * Where the statements of unbound handles go. The default binds on the
   * first statement. Called by `init`, once the pool is known.
   */
  protected createRouter(_pool: Pool<C>): StatementRouter {
    return ALWAYS_BIND
  }

  /** Exclusive connections this driver's handles hold now (an estimate of the pool's use, for routers). */
  protected get exclusiveCount(): number {
    return this.#exclusive
  }

  /** Handles of this driver waiting for the pool to lend them a connection. */
  protected get bindsWaiting(): number {
    return this.#bindsWaiting
  }

  /** Whether the dialect has connection hooks (they need a connection of the handle's own). */
  protected get hasHooks(): boolean {
    return this.#hasHooks
  }

  abstract commitTransaction(connection: DatabaseConnection): Promise<void>

  async init(options?: AbortOptions): Promise<void> {
    // Kysely inits from its first acquire, synchronously: the application's
    // frame is on the stack here, but no longer once the first acquire
    // resumes after the init (nor in an async stack trace when Kysely did
    // not await the acquire, as for `startTransaction()`). The first acquire
    // hands this site to the pool for leak reports and timeout errors.
    this.#initSite = captureAcquireSite(this.init)
    this.#generation = await this.#settings.pools.attach(options)
    this.#pool = this.#generation.pool
    const topology = (this.#topology = this.#generation.topology)
    this.#binder = {
      router: topology
        ? replicaRouter(topology, this.#pool.connector.dialect === 'mysql' ? 'mysql' : 'postgres', (lease, signal) =>
            this.#connect(lease, signal),
          )
        : this.createRouter(this.#pool),
      bind: (signal, site) => this.#bind(signal, site) as Promise<LeaseConnection<unknown>>,
      adopt: (lease) => {
        this.#exclusive++
        return this.createConnection(lease as Lease<C>) as LeaseConnection<unknown>
      },
      release: (connection) => this.#release(connection as LeaseConnection<C>),
    }
  }

  /**
   * A handle that holds no connection yet (see `LazyConnection`). Not
   * `async`: Kysely gets a resolved promise, no frame. The acquire site is
   * taken here, where the application's frames are still on the stack.
   */
  acquireConnection(options?: AbortOptions): Promise<DatabaseConnection> {
    const signal = options?.signal
    if (signal?.aborted) {
      return Promise.reject(signal.reason)
    }
    if (this.#generation === undefined) {
      return Promise.reject(new Error('driver has already been destroyed'))
    }
    let site = this.#initSite
    if (site !== undefined) {
      this.#initSite = undefined
    } else if (this.#pool.config.captureEveryAcquireSite && this.#pool.config.leakDetectionMillis > 0) {
      // Left at the default, the pool samples sites itself when a handle binds.
      site = captureAcquireSite(this.acquireConnection)
    }
    return Promise.resolve(new LazyConnection(this.#binder, signal, site))
  }

  /** What `acquireConnection` did before lazy binding: an exclusive lease, hooks run. */
  async #bind(signal: AbortSignal | undefined, site: AcquireOptions['site']): Promise<LeaseConnection<C>> {
    // Passing the signal lets an aborted caller leave the pool's queue at once.
    let acquireOptions: AcquireOptions | undefined
    if (site !== undefined) {
      acquireOptions = { signal, site }
    } else if (signal) {
      acquireOptions = { signal }
    }
    let lease: Lease<C>
    this.#bindsWaiting++
    try {
      lease = this.#topology
        ? (await this.#topology.acquire('primary', signal, site)).lease
        : await this.#pool.acquire(acquireOptions)
    } finally {
      this.#bindsWaiting--
    }
    const connection = await this.#connect(lease, signal)
    this.#exclusive++
    return connection
  }

  /** A lease's Kysely connection, its hooks run. */
  async #connect(lease: Lease<C>, signal: AbortSignal | undefined): Promise<LeaseConnection<C>> {
    // As the stock drivers: `destroy` was called while the connection was
    // being acquired (the pool lives on for the dialect's other instances).
    if (this.#generation === undefined) {
      await lease.release()
      throw new Error('driver has already been destroyed')
    }
    const connection = this.createConnection(lease)
    // The common path (no hooks, or a session the hooks already prepared)
    // awaits nothing after the acquire.
    if (this.#hasHooks) {
      const preparing = this.#prepareIfNeeded(connection, lease, signal ? { signal } : undefined)
      if (preparing) {
        await preparing
      }
    }
    return connection
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    // A transaction needs a session of its own: bind before the first statement.
    const lazy = asLazy(connection)
    if (this.#topology) {
      this.#topology.readYourWrites.wrote()
      this.#transactions.add(lazy)
    }
    const bound = (await lazy.bind()) as LeaseConnection<C>
    this.#noteTransactionSite(bound)
    await this.begin(bound, settings)
  }

  /**
   * A transaction is what an application can leave open (a controlled
   * transaction dropped): its lease names where it began, from V8's async
   * stack, which reaches the application's `await`. Once per transaction,
   * next to a round trip; plain queries are never captured here.
   */
  #noteTransactionSite(bound: LeaseConnection<C>): void {
    if (this.#pool.config.leakDetectionMillis > 0) {
      bound.lease.noteSite(captureAcquireSite(this.beginTransaction))
    }
  }

  /**
   * Kysely keeps a controlled transaction's connection when COMMIT throws
   * (kysely#1990); an application that then drops the transaction would
   * hold it until GC. The transaction is over either way (the server ended
   * it, or the connection is gone), so the lease goes back now: the pool
   * rolls back or closes it. Kysely's later rollback and release of it are
   * no-ops.
   */
  protected async giveBackAfterFailedCommit(connection: DatabaseConnection): Promise<void> {
    const bound = asLazy(connection).bound
    if (bound !== undefined && bound.lease.isHeld && !givenBack.has(bound)) {
      givenBack.add(bound)
      await bound.lease.release().catch(() => {})
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const bound = asLazy(connection).bound
    if (bound !== undefined && givenBack.has(bound)) {
      return
    }
    try {
      await connection.executeQuery(CompiledQuery.raw('rollback'))
    } catch (error) {
      // As the stock Postgres driver: a connection that cannot roll back is closed, not reused.
      bound?.markForDiscard()
      throw error
    }
  }

  async savepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand('savepoint', savepointName), createQueryId()))
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand('rollback to', savepointName), createQueryId()))
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(
      compileQuery(savepointCommand(this.releaseSavepointCommand, savepointName), createQueryId()),
    )
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    // Not `async`: the pool's promise is handed on as it is, with no extra
    // frame or tick per query.
    if (!(connection instanceof LazyConnection)) {
      return Promise.reject(notOurs())
    }
    if (this.#topology && this.#transactions.has(connection)) {
      // The transaction's end (commit or not): the window runs from here.
      this.#topology.readYourWrites.wrote()
    }
    return connection.release()
  }

  #release(leased: LeaseConnection<C>): Promise<void> {
    this.#exclusive--
    // The pool does the hygiene: whatever Kysely left open (a transaction of
    // `db.connection()`, a failed commit) is rolled back before reuse.
    if (!leased.lease.isHeld && givenBack.has(leased)) {
      return Promise.resolve()
    }
    return leased.discard ? leased.lease.destroy() : leased.lease.release()
  }

  async destroy(): Promise<void> {
    // Leaves the dialect's pool; the last Kysely instance on it destroys it.
    const generation = this.#generation
    this.#generation = undefined
    if (generation) {
      await this.#settings.pools.detach(generation)
    }
  }

  /**
   * The hooks' work, or `undefined` when there is none (a prepared session
   * and no `onReserveConnection`). `onCreateConnection` runs whenever the
   * session is new: on a new physical connection, and again after the pool
   * reset the session (the reset undid what the hook set up, e.g. a
   * `set time zone`). What the hook sets up is the session's baseline, not
   * a change: it does not make releases reset the session.
   */
  #prepareIfNeeded(
    connection: LeaseConnection<C>,
    lease: Lease<C>,
    options: AbortOptions | undefined,
  ): Promise<void> | undefined {
    let sessionIsNew: boolean
    try {
      sessionIsNew = this.#isSessionNew(lease)
    } catch (error) {
      return destroyAndThrow(lease, error)
    }
    if (!sessionIsNew && !this.#settings.onReserveConnection) {
      return undefined
    }
    return this.#prepare(connection, lease, sessionIsNew, options)
  }

  #isSessionNew(lease: Lease<C>): boolean {
    if (!this.#settings.onCreateConnection) {
      return false
    }
    return this.#settings.prepared.get(lease.connection as C & object) !== lease.sessionGeneration
  }

  /** Runs the hooks. */
  async #prepare(
    connection: LeaseConnection<C>,
    lease: Lease<C>,
    sessionIsNew: boolean,
    options: AbortOptions | undefined,
  ): Promise<void> {
    const { onCreateConnection, onReserveConnection } = this.#settings
    try {
      if (sessionIsNew && onCreateConnection) {
        await onCreateConnection(connection, options)
        lease.acceptSession()
        this.#settings.prepared.set(lease.connection as C & object, lease.sessionGeneration)
      }
      if (onReserveConnection) {
        await onReserveConnection(connection, options)
      }
    } catch (error) {
      await destroyAndThrow(lease, error)
    }
  }
}

/** A connection whose preparation failed is half set up: it is closed, never reused. */
async function destroyAndThrow<C>(lease: Lease<C>, error: unknown): Promise<never> {
  await lease.destroy(error instanceof Error ? error : undefined)
  throw error
}

/** Bound connections whose lease the driver gave back after a failed COMMIT (see `giveBackAfterFailedCommit`). */
const givenBack = new WeakSet<LeaseConnection<unknown>>()

function asLazy(connection: DatabaseConnection): LazyConnection {
  if (!(connection instanceof LazyConnection)) {
    throw notOurs()
  }
  return connection
}

function notOurs(): TypeError {
  return new TypeError('kysely-pooled: the driver was given a connection it did not create.')
}

/** Same node as Kysely's own savepoint commands: the name goes through the compiler's identifier escaping. */
function savepointCommand(command: string, savepointName: string): RawNode {
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(savepointName)])
}
