import { isPlainRead, type Lease } from '@kysely-pooled/core'
import type { CompiledQuery, QueryResult } from 'kysely'
import type { AbortOptions } from '../shared/abort-options.js'
import type { LeaseConnection } from '../shared/lease-connection.js'
import { BIND, type SharedTarget, type StatementRouter, type StatementRoute } from '../shared/statement-route.js'
import type { Topology } from './topology.js'
import { abandonOnAbort } from '../shared/abandon-on-abort.js'

/** Makes the Kysely connection of a lease and runs the dialect's hooks on it (the driver's). */
export type LeaseBinder<C> = (lease: Lease<C>, signal: AbortSignal | undefined) => Promise<LeaseConnection<C>>

/**
 * Routes the statements of unbound handles across a topology: a plain read
 * (see `isPlainRead`) as a handle's first statement runs on a replica, on a
 * connection taken for that statement only; anything else binds the handle
 * to the primary (the driver's bind asks the topology for the primary).
 */
export function replicaRouter<C>(
  topology: Topology<C>,
  dialect: 'postgres' | 'mysql',
  bindLease: LeaseBinder<C>,
): StatementRouter {
  const target = new ReplicaTarget(topology, bindLease)
  const shared: StatementRoute = Object.freeze({ kind: 'shared', target })
  return {
    route(compiledQuery, situation) {
      if (situation.statementsRun === 0 && isPlainRead(compiledQuery.sql, dialect)) return shared
      // A write starts the read-your-writes window of this async context.
      if (!isPlainRead(compiledQuery.sql, dialect)) topology.readYourWrites.wrote()
      return BIND
    },
  }
}

class ReplicaTarget<C> implements SharedTarget {
  readonly #topology: Topology<C>
  readonly #bindLease: LeaseBinder<C>

  constructor(topology: Topology<C>, bindLease: LeaseBinder<C>) {
    this.#topology = topology
    this.#bindLease = bindLease
  }

  async run<R>(compiledQuery: CompiledQuery, options: AbortOptions | undefined): Promise<QueryResult<R>> {
    const signal = options?.signal
    const { lease, node } = await this.#topology.acquire('read', signal)
    try {
      const connection = await this.#bindLease(lease, signal)
      return await whenNotAborted(connection.executeQuery<R>(compiledQuery), signal)
    } catch (error) {
      if (!isRefusedAsWrite(error)) throw error
      // A server we took for the primary turned read-only.
      if (!node.readOnly) this.#topology.refusedWrite(node)
    } finally {
      if (lease.isHeld) await lease.release()
    }
    // The server refused it as a write, so it did not run: once, on the primary.
    const primary = await this.#topology.acquire('primary', signal)
    try {
      const connection = await this.#bindLease(primary.lease, signal)
      const result = await whenNotAborted(connection.executeQuery<R>(compiledQuery), signal)
      this.#topology.readYourWrites.wrote()
      return result
    } finally {
      if (primary.lease.isHeld) await primary.lease.release()
    }
  }

  async *stream<R>(
    compiledQuery: CompiledQuery,
    chunkSize: number | undefined,
    options: AbortOptions | undefined,
  ): AsyncIterableIterator<QueryResult<R>> {
    const { lease } = await this.#topology.acquire('read', options?.signal)
    try {
      const connection = await this.#bindLease(lease, options?.signal)
      yield* connection.streamQuery<R>(compiledQuery, chunkSize)
    } finally {
      if (lease.isHeld) await lease.release()
    }
  }
}

/**
 * PostgreSQL SQLSTATE 25006 (read_only_sql_transaction); MariaDB/MySQL
 * error 1290 (ER_OPTION_PREVENTS_STATEMENT: `--read-only`). Either way the
 * statement did not run.
 */
export function isRefusedAsWrite(error: unknown): boolean {
  const { code, errno } = (error ?? {}) as { code?: unknown; errno?: unknown }
  return code === '25006' || errno === 1290
}

function whenNotAborted<T>(running: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return signal === undefined ? running : abandonOnAbort(running, signal)
}
