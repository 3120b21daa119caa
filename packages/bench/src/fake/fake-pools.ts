import { createPool, type Lease, type PoolOptions } from '@kysely-pooled/core'
import pg from 'pg'
import tarn from 'tarn'
import { fakeConnector } from './fake-connector.js'
import { FakePgClient } from './fake-pg-client.js'

/**
 * One pool under test on fake connections, reduced to what the overhead and
 * exhaustion scenarios need: each pool's own acquire and release, called
 * directly (no wrapper allocates per pair), so every pool is driven by the
 * very same loop.
 */
export interface FakePool {
  acquire(): Promise<unknown>
  release(handle: unknown): unknown
  destroy(): Promise<void>
}

export type FakePoolId = 'kysely-pooled' | 'kysely-pooled-no-leak-detection' | 'tarn' | 'pg-pool'

export interface FakePoolFactory {
  readonly id: FakePoolId
  readonly label: string
  create(max: number, acquireTimeoutMillis: number): FakePool
}

export const oursOnFake: FakePoolFactory = {
  id: 'kysely-pooled',
  label: 'kysely-pooled (acquire + release)',
  create(max, acquireTimeoutMillis) {
    const options: PoolOptions = { max, acquireTimeoutMillis, maxWaiting: Infinity, name: 'bench-fake' }
    const pool = createPool(fakeConnector(), options)
    return {
      acquire: () => pool.acquire(),
      release: (lease) => (lease as Lease<unknown>).release(),
      destroy: () => pool.destroy(),
    }
  },
}

/**
 * The same pool with leak detection (on by default, acquire sites sampled)
 * turned off: the difference to `oursOnFake` is what the default costs.
 */
export const oursOnFakeNoLeakDetection: FakePoolFactory = {
  id: 'kysely-pooled-no-leak-detection',
  label: 'kysely-pooled, leakDetectionMillis 0',
  create(max, acquireTimeoutMillis) {
    const options: PoolOptions = {
      max,
      acquireTimeoutMillis,
      maxWaiting: Infinity,
      name: 'bench-fake-no-leak-detection',
      leakDetectionMillis: 0,
    }
    const pool = createPool(fakeConnector(), options)
    return {
      acquire: () => pool.acquire(),
      release: (lease) => (lease as Lease<unknown>).release(),
      destroy: () => pool.destroy(),
    }
  },
}

/** A direct tarn pool, as knex and the core pool build on it. */
export const tarnOnFake: FakePoolFactory = {
  id: 'tarn',
  label: 'tarn 3 (raw)',
  create(max, acquireTimeoutMillis) {
    let nextId = 0
    const pool = new tarn.Pool<{ id: number }>({
      create: () => Promise.resolve({ id: ++nextId }),
      destroy: () => undefined,
      min: 0,
      max,
      acquireTimeoutMillis,
    })
    return {
      acquire: () => pool.acquire().promise,
      release: (resource) => pool.release(resource as { id: number }),
      destroy: async () => {
        await pool.destroy()
      },
    }
  },
}

/** pg.Pool (pg-pool) with its `Client` option pointed at a socket-less client. */
export const pgPoolOnFake: FakePoolFactory = {
  id: 'pg-pool',
  label: 'pg-pool (pg.Pool, fake Client)',
  create(max, acquireTimeoutMillis) {
    const pool = new pg.Pool({
      max,
      connectionTimeoutMillis: acquireTimeoutMillis,
      Client: FakePgClient as unknown as typeof pg.Client,
    })
    return {
      acquire: () => pool.connect(),
      release: (client) => (client as pg.PoolClient).release(),
      destroy: () => pool.end(),
    }
  },
}
