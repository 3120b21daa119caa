import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  createPool,
  PoolConnectError,
  PoolTimeoutError,
  type Pool,
  type PoolLogEntry,
  type PoolOptions,
} from '../../src/index.js'
import { ConnectError, FakeConnector, type FakeConnection } from '../support/fake-connector.js'

const pools: Pool<FakeConnection>[] = []

function fakePool(options: PoolOptions = {}, connector = new FakeConnector()) {
  const logged: PoolLogEntry[] = []
  const pool = createPool(connector, { validateAfterIdleMillis: 0, log: (entry) => logged.push(entry), ...options })
  pools.push(pool)
  return { pool, connector, logged }
}

/** What a driver throws when nothing listens on the port. */
function connectionRefused(): ConnectError {
  const error = new ConnectError('connect ECONNREFUSED 127.0.0.1:5433', 'transient')
  Object.assign(error, { code: 'ECONNREFUSED' })
  return error
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.destroy({ graceMillis: 0 })))
})

describe('a pool that has never connected', () => {
  it('fails queued callers at once with the cause when the connection is refused', async () => {
    const { pool, connector } = fakePool({ max: 2, acquireTimeoutMillis: 10_000 })
    const refused = connectionRefused()
    connector.failAlways = refused
    const errors = await Promise.all([pool.acquire(), pool.acquire()].map((p) => p.catch((e: unknown) => e)))
    for (const error of errors) {
      expect(error).toBeInstanceOf(PoolConnectError)
      expect((error as PoolConnectError).cause).toBe(refused)
      expect((error as PoolConnectError).message).toContain('ECONNREFUSED')
    }
    expect(pool.stats().timeouts).toBe(0)
  })

  it('rejects ready() at once during warm-up when the connection is refused', async () => {
    const connector = new FakeConnector()
    connector.failAlways = connectionRefused()
    const { pool } = fakePool({ min: 1, max: 1 }, connector)
    await expect(pool.ready()).rejects.toBeInstanceOf(PoolConnectError)
  })

  it('still queues through a server that is busy (too many clients), which is no wrong address', async () => {
    const connector = new FakeConnector()
    connector.failures.push(new ConnectError('sorry, too many clients already', 'transient'))
    const { pool } = fakePool({ max: 1 }, connector)
    const lease = await pool.acquire()
    expect(pool.stats().createErrors).toBe(1)
    await lease.release()
  })
})

describe('a pool that has been healthy', () => {
  it('keeps callers queued while the server refuses (a restart), then says so at the timeout', async () => {
    const { pool, connector } = fakePool({ max: 1, acquireTimeoutMillis: 300 })
    const lease = await pool.acquire()
    await lease.destroy()
    connector.failAlways = connectionRefused()
    const error = await pool.acquire().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PoolTimeoutError)
    expect((error as PoolTimeoutError).reason).toBe('server-refusing')
    expect(connector.connectAttempts).toBeGreaterThan(2)
  })

  it('serves the queued caller once the server is back', async () => {
    const { pool, connector } = fakePool({ max: 1, acquireTimeoutMillis: 5_000 })
    await (await pool.acquire()).destroy()
    connector.failures.push(connectionRefused(), connectionRefused())
    const lease = await pool.acquire()
    expect(pool.stats().createErrors).toBe(2)
    await lease.release()
  })
})

describe('one report per failure', () => {
  it('does not log a connect failure the waiting callers received', async () => {
    const connector = new FakeConnector()
    connector.failAlways = new ConnectError('password authentication failed for user "app"', 'fatal')
    const { pool, logged } = fakePool({ max: 1 }, connector)
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolConnectError)
    expect(logged).toEqual([])
  })

  it('does not log a connect failure that ready() rejected with', async () => {
    const connector = new FakeConnector()
    connector.failAlways = new ConnectError('database "nope" does not exist', 'fatal')
    const { pool, logged } = fakePool({ min: 1, max: 1 }, connector)
    await expect(pool.ready()).rejects.toBeInstanceOf(PoolConnectError)
    expect(logged).toEqual([])
  })

  it('logs a connect failure nobody waits on, once per attempt, through the log option', async () => {
    const connector = new FakeConnector()
    connector.failAlways = new ConnectError('database "nope" does not exist', 'fatal')
    const { logged } = fakePool({ min: 1, max: 1 }, connector)
    await vi.waitFor(() => expect(logged).toHaveLength(1))
    expect(logged[0]).toMatchObject({ level: 'error', code: 'KYSELY_POOLED_ERROR' })
    expect(logged[0]?.error).toBeInstanceOf(PoolConnectError)
  })

  it('emits no process warning for what a caller received (default log)', async () => {
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    try {
      const connector = new FakeConnector()
      connector.failAlways = new ConnectError('password authentication failed for user "app"', 'fatal')
      const pool = createPool(connector, { max: 1 })
      pools.push(pool)
      await expect(pool.acquire()).rejects.toBeInstanceOf(PoolConnectError)
      // A warning is emitted on the next tick: give it that tick, and then some.
      await new Promise((resolve) => setImmediate(resolve))
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.filter((w) => w.message.includes('cannot connect'))).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  })
})
