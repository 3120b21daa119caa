import type { Lease, PostgresClient as Client, PostgresQueryResult as PgQueryResult } from '@kysely-pooled/core'
import type { CompiledQuery, QueryResult } from 'kysely'
import { extendStackTrace } from '../shared/extend-stack-trace.js'
import type { SessionHolder, SharedSession } from '../shared/statement-route.js'
import { toKyselyResult } from './postgres-result.js'
import { abandonOnAbort } from '../shared/abandon-on-abort.js'

/** The parts of a pg 8.23 `Client` pipelining reads and sets (see pg/lib/client.js). */
interface PipelineClient {
  /** Read on every send: while true, queued queries go out without waiting for the previous one. */
  pipeline: boolean
  _queryable: boolean
  _ending: boolean
}

/** pg's `query(text, values, callback)`, which its declared type leaves out. */
interface CallbackClient {
  query(text: string, values: unknown[], callback: (error: unknown, result: PgQueryResult) => void): void
}

/** What a shared connection tells its dispatcher. */
export interface SharedConnectionOwner {
  /** Nothing in flight and no handle pins it: give the lease back. */
  idle(connection: SharedConnection): Promise<void>
  /** A handle claimed it: it is no longer shared. */
  claimed(connection: SharedConnection): void
  /** A statement on it ended: room for one more. */
  freed(): void
}

/**
 * One pool lease lent to pipelined statements of many callers. The lease is
 * taken like any other (same `max`, queue, events) and given back as soon as
 * no statement is in flight and no handle pins it, with pipeline mode off
 * again: the pool's release hygiene then sees an ordinary idle connection.
 * Only statements that need no session run here (see `pipelineRouter`), each
 * with its own Sync, so a failed one fails alone and no transaction ever
 * spans two of them.
 *
 * Each handle whose statement ran here pins it until Kysely releases the
 * handle; a handle's second statement claims it (`SharedSession`): no new
 * statements are placed, the ones in flight finish, and the lease becomes
 * that handle's exclusive connection — `db.connection()` keeps its session.
 */
export class SharedConnection implements SharedSession {
  readonly lease: Lease<Client>
  readonly #client: Client
  readonly #pg: PipelineClient
  readonly #callbackClient: CallbackClient
  /** Statements sent and not yet answered. */
  inFlight = 0
  /** Handles that ran a statement here and are not released yet. */
  pins = 0
  /** Takes new statements: false once rotated out, broken, claimed or handed back. */
  accepting = true
  /** A handle claimed it; `#drained` wakes the claim once nothing is in flight. */
  #claimed = false
  #drained: (() => void) | undefined
  readonly #retireAt: number
  readonly #owner: SharedConnectionOwner

  constructor(lease: Lease<Client>, rotateMillis: number, owner: SharedConnectionOwner) {
    this.lease = lease
    this.#client = lease.connection
    this.#pg = this.#client as unknown as PipelineClient
    this.#callbackClient = this.#client as unknown as CallbackClient
    this.#retireAt = performance.now() + rotateMillis
    this.#owner = owner
  }

  /** Free to go back to the pool: nothing in flight, no pins, not claimed. */
  get idle(): boolean {
    return this.inFlight === 0 && this.pins === 0 && !this.#claimed
  }

  get broken(): boolean {
    return !this.#pg._queryable || this.#pg._ending
  }

  /** Still fit for a new statement; a lease held past its rotation time takes no more (leak and lease limits stay meaningful). */
  get usable(): boolean {
    if (!this.accepting) return false
    const pg = this.#pg
    if (!pg._queryable || pg._ending || !this.lease.isHeld || performance.now() >= this.#retireAt) {
      this.accepting = false
    }
    return this.accepting
  }

  run<R>(
    compiledQuery: CompiledQuery,
    signal: AbortSignal | undefined,
    holder: SessionHolder | undefined,
  ): Promise<QueryResult<R>> {
    // Pipeline mode only while statements are in flight: an idle connection,
    // pinned or not, is an ordinary one (whatever the pool does with it then).
    if (this.inFlight++ === 0) this.#pg.pipeline = true
    if (holder !== undefined) {
      this.pins++
      holder.pin(this)
    }
    // pg's callback form: one promise per statement (ours), not pg's plus a chain.
    const sent = new Promise<QueryResult<R>>((resolve, reject) => {
      this.#callbackClient.query(
        compiledQuery.sql,
        compiledQuery.parameters as unknown[],
        (error: unknown, result: PgQueryResult) => {
          this.#ended()
          if (error) {
            reject(extendStackTrace(this.#explain(error), new Error()))
          } else {
            resolve(toKyselyResult<R>(result))
          }
        },
      )
    })
    return signal === undefined ? sent : abandonOnAbort(sent, signal)
  }

  /** No more statements: the connection goes back to the pool (or to its claimer); it is out of pipeline mode once idle. */
  detach(): void {
    this.accepting = false
  }

  unpin(): Promise<void> {
    this.pins--
    return this.idle ? this.#owner.idle(this) : RESOLVED
  }

  async claim(): Promise<Lease<unknown> | undefined> {
    this.pins--
    if (this.#claimed || this.broken || !this.lease.isHeld) {
      if (this.idle) await this.#owner.idle(this)
      return undefined
    }
    this.#claimed = true
    this.accepting = false
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => (this.#drained = resolve))
    }
    this.#owner.claimed(this)
    this.detach()
    if (this.broken || !this.lease.isHeld) {
      // It broke while draining: the pool closes it; the handle binds afresh.
      if (this.lease.isHeld) await this.lease.release().catch(() => undefined)
      return undefined
    }
    return this.lease
  }

  #ended(): void {
    if (--this.inFlight > 0) {
      this.#owner.freed()
      return
    }
    this.#pg.pipeline = false
    if (this.#drained !== undefined) {
      const drained = this.#drained
      this.#drained = undefined
      drained()
    } else if (this.idle) {
      void this.#owner.idle(this)
    } else {
      this.#owner.freed()
    }
  }

  /** A connection-level failure reached every statement in flight: say so, and that nothing was retried. */
  #explain(error: unknown): unknown {
    const pg = this.#pg
    // The server's own goodbye (57P01 terminated, 57P02 crash, …) comes as an ErrorResponse before the socket closes.
    const code = (error as { code?: unknown } | null)?.code
    const serverGoodbye = typeof code === 'string' && (code.startsWith('57P') || code.startsWith('08'))
    if (pg._queryable && !pg._ending && !serverGoodbye) return error
    this.accepting = false
    const message = error instanceof Error ? error.message : String(error)
    return new Error(
      `kysely-pooled: the shared (pipelined) connection failed while this statement was in flight; it may or may not have run, and it was not retried: ${message}`,
      { cause: error },
    )
  }
}

const RESOLVED = Promise.resolve()
