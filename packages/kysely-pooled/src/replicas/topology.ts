import { PoolTimeoutError, type AcquireSite, type Lease, type Pool } from '@kysely-pooled/core'
import { LagHistory } from './lag-history.js'
import { ReadYourWrites } from './read-your-writes.js'
import { ServerNode, type ServerChange, type ServerInfo, type ServerRole } from './server-node.js'
import type { StatusProbe } from './server-status.js'

/** One server as the config lists it. */
export interface ServerSpec {
  /** `host:port`, the server's identity (a server listed twice is one server). */
  readonly server: string
  readonly connection: unknown
  readonly candidate: boolean
  readonly replica: boolean
}

export interface TopologySettings<C, P> {
  readonly servers: readonly ServerSpec[]
  /** Makes the pool of one server (the dialect's connector and pool options, this name). */
  readonly makePool: (connection: unknown, name: string) => Pool<C>
  /** The pools' base name (`<name>/primary:<host:port>`, `<name>/replica:<host:port>`). */
  readonly name: string
  readonly probe: StatusProbe<C, P>
  readonly maxReplicaLagMillis: number
  readonly readYourWritesMillis: number
  readonly acquireTimeoutMillis: number
}

/** What routing a statement asks for. */
export type Route = 'read' | 'primary'

export type ChangeListener = (change: ServerChange) => void

/** Between background checks of a healthy server. */
const CHECK_INTERVAL_MILLIS = 250
/** Longest a check may take (acquire + one round trip) before the server counts as down. */
const CHECK_TIMEOUT_MILLIS = 1_500
/** Checks of a down server back off from this … */
const RETRY_BASE_MILLIS = 100
/** … to this, so a restarted server is back within a few seconds. */
const RETRY_MAX_MILLIS = 2_000

/**
 * The servers of one dialect — candidate primaries and replicas, one core
 * pool each — and which of them gets what. Background checks (one round
 * trip per server every 250 ms, off the query path) find the primary, the
 * replicas' lag and who is down; `acquire` reads only what they found.
 */
export class Topology<C, P = unknown> {
  readonly readYourWrites: ReadYourWrites
  readonly #settings: TopologySettings<C, P>
  readonly #nodes: ServerNode<C>[] = []
  readonly #history: LagHistory<P>
  readonly #listeners = new Set<ChangeListener>()
  /** Last reported view of each node, to emit a change only when one happens. */
  readonly #reported = new Map<ServerNode<C>, ServerInfo>()
  #primary: ServerNode<C> | undefined
  /** Callers waiting for a primary (none is known right now). */
  #primaryWaiters = new Set<() => void>()
  #timer: NodeJS.Timeout | undefined
  #rotation = 0
  #closed = false

  constructor(settings: TopologySettings<C, P>) {
    this.#settings = settings
    this.#history = new LagHistory(settings.probe.covers)
    this.readYourWrites = new ReadYourWrites(settings.readYourWritesMillis)
    for (const spec of settings.servers) {
      const pool = settings.makePool(
        spec.connection,
        `${settings.name}/${spec.candidate ? 'primary' : 'replica'}:${spec.server}`,
      )
      const node = new ServerNode(spec.server, pool, spec)
      // A broken connection is the first sign of a dead server: out at once, checked again at once.
      pool.on('destroy', ({ reason }) => {
        if (reason === 'broken' && node.up) this.#down(node, 'connection broken')
      })
      this.#nodes.push(node)
      this.#reported.set(node, this.#info(node))
    }
    this.#timer = setInterval(() => this.#checkDue(), CHECK_INTERVAL_MILLIS)
    this.#timer.unref()
    this.#checkDue()
  }

  /** The first candidate's pool: `dialect.pool` before any primary is known, and always a live one. */
  get firstPool(): Pool<C> {
    return this.#nodes[0]!.pool
  }

  /** The current primary's pool, or the first candidate's while none is known. */
  get primaryPool(): Pool<C> {
    return (this.#primary ?? this.#nodes[0]!).pool
  }

  servers(): ServerInfo[] {
    return this.#nodes.map((node) => this.#info(node))
  }

  pools(): Pool<C>[] {
    return this.#nodes.map((node) => node.pool)
  }

  on(_event: 'change', listener: ChangeListener): this {
    this.#listeners.add(listener)
    return this
  }

  off(_event: 'change', listener: ChangeListener): this {
    this.#listeners.delete(listener)
    return this
  }

  /**
   * A lease on the server this route goes to: a read to the least busy
   * usable replica (the primary when there is none, or while this context
   * reads its own writes), anything else to the primary. A caller queued on
   * a server that goes down leaves its queue and is routed again; with no
   * primary known, writes wait for one up to `acquireTimeoutMillis`.
   */
  async acquire(
    route: Route,
    signal: AbortSignal | undefined,
    site?: AcquireSite,
  ): Promise<{ lease: Lease<C>; node: ServerNode<C> }> {
    const startedAt = performance.now()
    const deadline = startedAt + this.#settings.acquireTimeoutMillis
    for (;;) {
      const node = (route === 'read' && !this.readYourWrites.pinned ? this.#pickReplica() : undefined) ?? this.#primary
      if (node === undefined) {
        await this.#waitForPrimary(startedAt, deadline, signal)
        continue
      }
      const down = node.downSignal
      try {
        const lease = await node.pool.acquire({ signal: signal ? AbortSignal.any([signal, down]) : down, site })
        return { lease, node }
      } catch (error) {
        if (signal?.aborted || !down.aborted) throw error
        if (performance.now() >= deadline) throw this.#timeoutError(node, startedAt)
      }
    }
  }

  /**
   * A server refused a statement as a write (SQLSTATE 25006, error 1290):
   * it is read-only now, whatever the last check said. Checked again at once.
   */
  refusedWrite(node: ServerNode<C>): void {
    node.readOnly = true
    node.nextCheckAt = 0
    this.#elect('refused a write')
    this.#checkDue()
  }

  async destroy({ graceMillis }: { graceMillis?: number } = {}): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    for (const wake of this.#primaryWaiters) wake()
    await Promise.all(this.#nodes.map((node) => node.pool.destroy({ graceMillis })))
  }

  // ------------------------------------------------------------ routing

  #pickReplica(): ServerNode<C> | undefined {
    const now = performance.now()
    let best: ServerNode<C> | undefined
    let bestLoad = Infinity
    const count = this.#nodes.length
    // Rotating the start spreads ties (idle replicas) evenly.
    const start = this.#rotation++ % count
    for (let i = 0; i < count; i++) {
      const node = this.#nodes[(start + i) % count]!
      if (!this.#readable(node, now)) continue
      const { used, pending, max } = node.pool.stats()
      const load = (used + pending) / max
      if (load < bestLoad) {
        best = node
        bestLoad = load
      }
    }
    return best
  }

  #readable(node: ServerNode<C>, now: number): boolean {
    return (
      node.replica &&
      node.up &&
      node.lagMillis <= this.#settings.maxReplicaLagMillis &&
      // a lag figure no check has refreshed lately says nothing
      now - node.lagAt <= CHECK_TIMEOUT_MILLIS + 2 * CHECK_INTERVAL_MILLIS
    )
  }

  #waitForPrimary(startedAt: number, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the dialect was destroyed'))
    return new Promise<void>((resolve, reject) => {
      const done = (error?: unknown) => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.#primaryWaiters.delete(wake)
        if (error === undefined) resolve()
        else reject(error)
      }
      const wake = () => done()
      const onAbort = () => done(signal?.reason)
      const timer = setTimeout(
        () => done(this.#timeoutError(undefined, startedAt)),
        Math.max(0, deadline - performance.now()),
      )
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#primaryWaiters.add(wake)
    })
  }

  #timeoutError(node: ServerNode<C> | undefined, startedAt: number): PoolTimeoutError {
    const pool = (node ?? this.#nodes.find((candidate) => candidate.candidate) ?? this.#nodes[0]!).pool
    const { size, used, idle, pending, max } = pool.stats()
    return new PoolTimeoutError(pool.name, {
      // no server took the role in time: as far as the caller can tell, servers refused
      reason: 'server-refusing',
      waitedMillis: Math.round(performance.now() - startedAt),
      size,
      used,
      idle,
      pending,
      max,
      holders: [],
      lastCreateError: new Error(
        node === undefined
          ? 'no server of `connection` accepts writes (primary down or read-only; waiting for failover)'
          : `server ${node.server} went down while the caller waited`,
      ),
    })
  }

  // ------------------------------------------------------------ checks

  #checkDue(): void {
    if (this.#closed) return
    const now = performance.now()
    for (const node of this.#nodes) {
      if (!node.checking && now >= node.nextCheckAt) void this.#check(node)
    }
  }

  async #check(node: ServerNode<C>): Promise<void> {
    node.checking = true
    try {
      const lease = await node.pool.acquire({ signal: AbortSignal.timeout(CHECK_TIMEOUT_MILLIS) })
      let timer: NodeJS.Timeout | undefined
      const status = await Promise.race([
        this.#settings.probe.read(lease.connection),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MILLIS} ms`)), CHECK_TIMEOUT_MILLIS)
        }),
      ]).then(
        (value) => value,
        async (error: unknown) => {
          // a connection that did not answer is not given to anyone again
          await lease.destroy(error instanceof Error ? error : undefined).catch(() => {})
          throw error
        },
      )
      clearTimeout(timer)
      if (lease.isHeld) await lease.release()
      if (this.#closed) return
      const now = performance.now()
      node.failures = 0
      node.nextCheckAt = now + CHECK_INTERVAL_MILLIS
      node.markUp()
      node.readOnly = status.readOnly
      this.#elect('check')
      if (node === this.#primary && status.position !== undefined) this.#history.record(status.position, now)
      node.lagMillis = node === this.#primary ? 0 : this.#history.lagOf(status.position, now)
      node.lagAt = now
      this.#report(node, status.readOnly ? `lag ${describeMillis(node.lagMillis)}` : 'accepts writes')
    } catch (error) {
      if (this.#closed) return
      node.failures++
      node.nextCheckAt = performance.now() + Math.min(RETRY_MAX_MILLIS, RETRY_BASE_MILLIS * 2 ** node.failures)
      this.#down(node, `check failed: ${error instanceof Error ? error.message : String(error)}`)
    } finally {
      node.checking = false
    }
  }

  #down(node: ServerNode<C>, reason: string): void {
    node.markDown()
    node.nextCheckAt = Math.min(node.nextCheckAt, performance.now() + RETRY_BASE_MILLIS)
    this.#elect(reason)
    this.#report(node, reason)
  }

  /**
   * The primary stays while it is up and writable (never two primaries);
   * when it is gone, the first candidate in order that is up and writable
   * takes over.
   */
  #elect(reason: string): void {
    const current = this.#primary
    if (current !== undefined && current.up && !current.readOnly) return
    const next = this.#nodes.find((node) => node.candidate && node.up && !node.readOnly)
    if (next === current) return
    this.#primary = next
    this.#history.clear()
    if (current !== undefined) this.#report(current, reason)
    if (next !== undefined) {
      this.#report(next, current === undefined ? 'accepts writes' : `took over from ${current.server}`)
      const waiters = this.#primaryWaiters
      this.#primaryWaiters = new Set()
      for (const wake of waiters) wake()
    }
  }

  #role(node: ServerNode<C>): ServerRole {
    if (node === this.#primary) return 'primary'
    return node.up && node.readOnly ? 'replica' : 'unknown'
  }

  #info(node: ServerNode<C>): ServerInfo {
    const role = this.#role(node)
    return Object.freeze({
      server: node.server,
      pool: node.pool.name,
      role,
      usable: role === 'primary' || this.#readable(node, performance.now()),
      lagMillis: Number.isFinite(node.lagMillis) ? Math.round(node.lagMillis) : null,
    })
  }

  #report(node: ServerNode<C>, reason: string): void {
    const previous = this.#reported.get(node)!
    const info = this.#info(node)
    this.#reported.set(node, info)
    if (previous.role === info.role && previous.usable === info.usable) return
    const change: ServerChange = Object.freeze({
      ...info,
      previous: { role: previous.role, usable: previous.usable },
      reason,
    })
    for (const listener of this.#listeners) {
      try {
        listener(change)
      } catch {
        // a listener's bug is not the topology's
      }
    }
  }
}

function describeMillis(millis: number): string {
  return Number.isFinite(millis) ? `${Math.round(millis)} ms` : 'unknown'
}
