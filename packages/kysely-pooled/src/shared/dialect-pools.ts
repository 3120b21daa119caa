import type { Pool, PoolEventListener, PoolEventName } from '@kysely-pooled/core'
import type { AbortOptions } from './abort-options.js'
import type { PoolFactory } from './pooled-dialect-config.js'
import { livePoolHandle } from './live-pool-handle.js'
import type { ResolvedDialectConfig } from './resolve-dialect-config.js'
import type { Topology } from '../replicas/topology.js'

/** One pool of the dialect and the drivers (Kysely instances) using it. */
export interface PoolGeneration<C> {
  readonly pool: Pool<C>
  /** False for a pool passed in to be shared: the dialect never destroys it. */
  readonly owned: boolean
  users: number
  /** With replicas or candidate primaries: every server's pool (`pool` is the first candidate's). */
  readonly topology?: Topology<C>
}

type Listener = PoolEventListener<PoolEventName>

/**
 * The dialect's pool across the Kysely instances that use it: one pool at a
 * time, shared by every live instance (reference-counted), destroyed with
 * the last one and made again when another instance comes. `handle` is
 * `dialect.pool`: the live pool, whichever generation that is, with its
 * listeners carried over to each new generation.
 */
export class DialectPools<C> {
  readonly handle: Pool<C>
  readonly #config: ResolvedDialectConfig<C>
  /** The live generation, or the last one (destroyed) until the next is made. */
  #current: PoolGeneration<C> | undefined
  /** A factory call in flight, shared by the instances waiting for it. */
  #making: Promise<PoolGeneration<C>> | undefined
  /** Listeners attached through `handle`, in order, so a new generation gets them all. */
  readonly #listeners: [PoolEventName, Listener][] = []
  /** Owned pools still being destroyed: `off` must reach them too. */
  readonly #draining = new Set<Pool<C>>()
  /** The first generation's name, kept by the next ones so stats and metrics stay one series. */
  #name: string | undefined

  constructor(config: ResolvedDialectConfig<C>) {
    this.#config = config
    const { source } = config
    if (source.kind === 'shared') {
      this.#current = { pool: source.pool, owned: false, users: 0 }
      this.handle = source.pool
      return
    }
    // Made now, so that `dialect.pool` (stats, `ready()`, `min` warm-up) works
    // from construction on, as before the first query.
    if (source.kind === 'options') {
      this.#current = this.#make(undefined)
    }
    this.handle = livePoolHandle<C>({
      dialectName: config.dialectName,
      // with a topology: the primary's pool (the first candidate's while none is known)
      live: () => this.#current?.topology?.primaryPool ?? this.#current?.pool,
      on: (event, listener) => this.#on(event, listener),
      off: (event, listener) => this.#off(event, listener),
    })
  }

  /** The live generation's servers (replicas / failover), if the dialect has them. */
  get topology(): Topology<C> | undefined {
    return this.#current?.topology
  }

  /** A driver's `init`: joins the live generation, or makes the next one. */
  async attach(options: AbortOptions | undefined): Promise<PoolGeneration<C>> {
    const current = this.#current
    const generation = current && this.#isUsable(current) ? current : await this.#next(options)
    generation.users++
    return generation
  }

  /** A driver's `destroy`: the last user of an owned pool destroys it. */
  async detach(generation: PoolGeneration<C>): Promise<void> {
    generation.users--
    if (generation.users > 0 || !generation.owned) {
      return
    }
    const { pool } = generation
    this.#draining.add(pool)
    try {
      await (generation.topology ?? pool).destroy({ graceMillis: this.#config.destroyGraceMillis })
    } finally {
      this.#draining.delete(pool)
      for (const [event, listener] of this.#listeners) {
        pool.off(event, listener)
      }
    }
  }

  #isUsable(generation: PoolGeneration<C>): boolean {
    // An owned pool is closed once its last user destroyed it (or the app
    // called `dialect.pool.destroy()`): the next instance gets a new one. A
    // shared pool is its owner's: once destroyed, acquires say so (PoolClosedError).
    return !generation.owned || !generation.pool.closed
  }

  #next(options: AbortOptions | undefined): Promise<PoolGeneration<C>> {
    const { source, makePool } = this.#config
    if (source.kind === 'options') {
      return Promise.resolve((this.#current = this.#make(this.#name)))
    }
    // Only a factory gets here: a shared pool is always usable.
    const factory = (source as { readonly factory: PoolFactory<C> }).factory
    this.#making ??= (async () => {
      try {
        const made = makePool(await factory(options), this.#name)
        return (this.#current = this.#adopt(made))
      } finally {
        this.#making = undefined
      }
    })()
    return this.#making
  }

  /** A generation from the config's pool options: one pool, or one per server. */
  #make(name: string | undefined): PoolGeneration<C> {
    const { makeTopology, makePool, source } = this.#config
    const options = (source as { readonly options?: Parameters<typeof makePool>[0] }).options
    if (makeTopology === undefined) {
      return this.#adopt(makePool(options, name))
    }
    const topology = makeTopology()
    return { ...this.#adopt(topology.firstPool), topology }
  }

  #adopt(pool: Pool<C>): PoolGeneration<C> {
    this.#name ??= pool.name
    for (const [event, listener] of this.#listeners) {
      pool.on(event, listener)
    }
    return { pool, owned: true, users: 0 }
  }

  #on(event: PoolEventName, listener: Listener): void {
    this.#listeners.push([event, listener])
    const pool = this.#current?.pool
    if (pool && !pool.closed) {
      pool.on(event, listener)
    }
  }

  #off(event: PoolEventName, listener: Listener): void {
    const index = this.#listeners.findIndex(([e, l]) => e === event && l === listener)
    if (index >= 0) {
      this.#listeners.splice(index, 1)
    }
    this.#current?.pool.off(event, listener)
    for (const pool of this.#draining) {
      pool.off(event, listener)
    }
  }
}
