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
import { LeaseConnection } from './lease-connection.js'
import type { ConnectionHook } from './pooled-dialect-config.js'

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
 * The part of a Kysely `Driver` that is the same for every database: acquire
 * and release through the core pool, savepoints, rollback, destroy. The
 * subclasses only say how their database begins and commits.
 */
export abstract class PooledDriver<C> implements Driver {
  readonly #settings: PooledDriverSettings<C>
  /** Set by `init`, read on every acquire: the common path reads one field. */
  #pool!: Pool<C>
  #generation: PoolGeneration<C> | undefined
  /** Where the call that made Kysely init this driver came from (see `init`). */
  #initSite: AcquireOptions['site']
  readonly #hasHooks: boolean

  constructor(settings: PooledDriverSettings<C>) {
    this.#settings = settings
    this.#hasHooks = settings.onCreateConnection !== undefined || settings.onReserveConnection !== undefined
  }

  /** The `release …` form of this database's savepoint release command. */
  protected abstract readonly releaseSavepointCommand: string

  protected abstract createConnection(lease: Lease<C>): LeaseConnection<C>

  abstract beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void>

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
  }

  async acquireConnection(options?: AbortOptions): Promise<DatabaseConnection> {
    const signal = options?.signal
    const site = this.#initSite
    // Passing the signal lets an aborted caller leave the pool's queue at once.
    let acquireOptions: AcquireOptions | undefined
    if (site !== undefined) {
      this.#initSite = undefined
      acquireOptions = { signal, site }
    } else if (signal) {
      acquireOptions = { signal }
    }
    const lease = await this.#pool.acquire(acquireOptions)
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
      const preparing = this.#prepareIfNeeded(connection, lease, options)
      if (preparing) {
        await preparing
      }
    }
    return connection
  }

  /**
   * A transaction is what an application can leave open (a controlled
   * transaction dropped): its lease names where it began, from V8's async
   * stack, which reaches the application's `await`. Once per transaction,
   * next to a round trip; plain queries are never captured here.
   */
  protected noteTransactionSite(connection: DatabaseConnection): void {
    if (this.#pool.config.leakDetectionMillis > 0) {
      asLeaseConnection<C>(connection).lease.noteSite(captureAcquireSite(this.noteTransactionSite))
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
    const leased = asLeaseConnection<C>(connection)
    if (leased.lease.isHeld && !givenBack.has(connection)) {
      givenBack.add(connection)
      await leased.lease.release().catch(() => {})
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (givenBack.has(connection)) {
      return
    }
    try {
      await connection.executeQuery(CompiledQuery.raw('rollback'))
    } catch (error) {
      // As the stock Postgres driver: a connection that cannot roll back is closed, not reused.
      asLeaseConnection(connection).markForDiscard()
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
    if (!(connection instanceof LeaseConnection)) {
      return Promise.reject(notOurs())
    }
    // The pool does the hygiene: whatever Kysely left open (a transaction of
    // `db.connection()`, a failed commit) is rolled back before reuse.
    const leased = connection as LeaseConnection<C>
    if (!leased.lease.isHeld && givenBack.has(connection)) {
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

/** Connections whose lease the driver gave back after a failed COMMIT (see `giveBackAfterFailedCommit`). */
const givenBack = new WeakSet<DatabaseConnection>()

function asLeaseConnection<C>(connection: DatabaseConnection): LeaseConnection<C> {
  if (!(connection instanceof LeaseConnection)) {
    throw notOurs()
  }
  return connection as LeaseConnection<C>
}

function notOurs(): TypeError {
  return new TypeError('kysely-pooled: the driver was given a connection it did not create.')
}

/** Same node as Kysely's own savepoint commands: the name goes through the compiler's identifier escaping. */
function savepointCommand(command: string, savepointName: string): RawNode {
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(savepointName)])
}
