import type { Lease, PostgresClient as Client, PostgresQueryResult as PgQueryResult } from '@kysely-pooled/core'
import type { CompiledQuery, QueryResult } from 'kysely'
import { extendStackTrace } from '../shared/extend-stack-trace.js'
import type { SessionHolder, SharedSession } from '../shared/statement-route.js'
import { toKyselyResult } from './postgres-result.js'
import { abandonOnAbort } from '../shared/abandon-on-abort.js'
import type { ServiceProfile, ServiceTimes } from './service-times.js'

/** The parts of a pg 8.23 `Client` pipelining reads and sets (see pg/lib/client.js). */
interface PipelineClient {
  /** Read on every send: while true, queued queries go out without waiting for the previous one. */
  pipeline: boolean
  _queryable: boolean
  _ending: boolean
  readonly connection?: { readonly stream?: Corkable }
}

/** The socket under pg's connection (net or TLS): corked, its writes go out together. */
interface Corkable {
  cork(): void
  uncork(): void
}

/** pg's `query(text, values, callback)`, which its declared type leaves out. */
interface CallbackClient {
  query(text: string, values: unknown[], callback: (error: unknown, result: PgQueryResult) => void): void
}

/** What a shared connection tells its dispatcher. */
export interface SharedConnectionOwner {
  /** Nothing in flight and no handle pins it: give the lease back now. */
  idle(connection: SharedConnection): Promise<void>
  /** Nothing in flight and no pins, but still usable: give the lease back if it stays so until the end of the turn. */
  quiet(connection: SharedConnection): void
  /** A handle claimed it: it is no longer shared. */
  claimed(connection: SharedConnection): void
  /** A statement on it ended: room for one more. */
  freed(): void
  readonly serviceTimes: ServiceTimes
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
  /** The expected service time of each statement in flight, oldest first (pg answers in order). */
  readonly #expected: number[] = []
  #expectedTotal = 0
  /** Since when the oldest statement in flight is being served: the previous one's end, or its own send. */
  #headSince = 0
  /** Takes new statements: false once rotated out, broken, claimed or handed back. */
  accepting = true
  /** A handle claimed it; `#drained` wakes the claim once nothing is in flight. */
  #claimed = false
  #drained: (() => void) | undefined
  readonly #retireAt: number
  readonly #owner: SharedConnectionOwner
  readonly #socket: Corkable | undefined
  /** Corked until the end of the event-loop turn: the statements sent in it leave in one write. */
  #corked = false
  readonly #uncork = (): void => {
    this.#corked = false
    this.#socket!.uncork()
  }

  constructor(lease: Lease<Client>, rotateMillis: number, owner: SharedConnectionOwner) {
    this.lease = lease
    this.#client = lease.connection
    this.#pg = this.#client as unknown as PipelineClient
    this.#callbackClient = this.#client as unknown as CallbackClient
    this.#retireAt = performance.now() + rotateMillis
    this.#owner = owner
    const socket = this.#pg.connection?.stream
    this.#socket = typeof socket?.cork === 'function' && typeof socket.uncork === 'function' ? socket : undefined
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

  /**
   * How long a statement placed here now would wait for the ones in flight
   * (ms, estimated). The oldest one has run `elapsed`: past its
   * expectation, it is taken to need as long again (a statement that has
   * run long is likely to run long).
   */
  expectedWait(now: number): number {
    if (this.inFlight === 0) return 0
    const head = this.#expected[0]!
    const elapsed = now - this.#headSince
    return this.#expectedTotal - head + Math.max(head - elapsed, elapsed)
  }

  run<R>(
    compiledQuery: CompiledQuery,
    signal: AbortSignal | undefined,
    holder: SessionHolder | undefined,
    profile: ServiceProfile,
  ): Promise<QueryResult<R>> {
    // Pipeline mode only while statements are in flight: an idle connection,
    // pinned or not, is an ordinary one (whatever the pool does with it then).
    const idle = this.inFlight++ === 0
    if (idle) {
      this.#pg.pipeline = true
      this.#headSince = performance.now()
    }
    const expected = profile.millis
    this.#expected.push(expected)
    this.#expectedTotal += expected
    // pg corks each statement's messages (Parse … Sync) on its own; corked
    // for the rest of the turn, every statement placed here in it leaves in
    // one write, and the server reads them in one go. Not the first on an
    // idle connection: it would wait for nothing (a lone caller's latency).
    if (!idle && !this.#corked && this.#socket !== undefined) {
      this.#corked = true
      this.#socket.cork()
      setImmediate(this.#uncork)
    }
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
          this.#served(profile, error)
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
    if (this.idle) this.#owner.quiet(this)
    return RESOLVED
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

  /** The oldest statement in flight was answered: learn how long it took, the next one is served from now. */
  #served(profile: ServiceProfile, error: unknown): void {
    const expected = this.#expected.shift()!
    this.#expectedTotal -= expected
    const now = performance.now()
    // A connection-level failure ends every statement at once: nothing to learn.
    if (!error || this.#pg._queryable) this.#owner.serviceTimes.record(profile, now - this.#headSince)
    this.#headSince = now
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
      this.#owner.quiet(this)
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
