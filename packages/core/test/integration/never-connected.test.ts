import { afterEach, describe, expect, it } from 'vitest'
import { createPool, PoolConnectError, type Pool, type PoolLogEntry } from '../../src/index.js'
import { startFaultProxy, type FaultProxy } from '../../src/testing/fault-proxy.js'
import { testDatabases } from '../../src/testing/index.js'
import { connectorFor, type DriverConnection } from '../connector/support/databases.js'

/*
 * A refused connection on the real drivers: at once with the cause for a
 * pool that has never connected (a typo in the port), queued through it for
 * a pool that has been healthy (a restart). The refusal is a fault proxy in
 * `refuse` mode: nothing listens on its port.
 */
describe.each(testDatabases())('a refused connection on $dialect', (database) => {
  const pools: Pool<DriverConnection>[] = []
  const proxies: FaultProxy[] = []

  async function pooled(options: { acquireTimeoutMillis: number; refuse: boolean }) {
    const target = new URL(database.url)
    const proxy = await startFaultProxy({ target: { host: target.hostname, port: Number(target.port) } })
    proxies.push(proxy)
    if (options.refuse) await proxy.setMode('refuse')
    const logged: PoolLogEntry[] = []
    const pool = createPool(connectorFor(database, proxy.url(database.url)), {
      max: 2,
      acquireTimeoutMillis: options.acquireTimeoutMillis,
      log: (entry) => logged.push(entry),
    })
    pools.push(pool)
    return { pool, proxy, logged }
  }

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.destroy({ graceMillis: 0 })))
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()))
  })

  it('fails a pool that never connected at once, with ECONNREFUSED as the cause, and reports it once', async () => {
    // A timeout far beyond the test's: only failing fast can pass.
    const { pool, logged } = await pooled({ acquireTimeoutMillis: 600_000, refuse: true })
    const errors = await Promise.all([pool.acquire(), pool.acquire()].map((p) => p.catch((e: unknown) => e)))
    for (const error of errors) {
      expect(error).toBeInstanceOf(PoolConnectError)
      expect(((error as PoolConnectError).cause as { code?: string }).code).toBe('ECONNREFUSED')
      expect((error as PoolConnectError).message).toContain('ECONNREFUSED')
    }
    expect(pool.stats().timeouts).toBe(0)
    // The callers got it: no second report in the log (a process warning by default).
    expect(logged).toEqual([])
  })

  it('keeps a healthy pool queued through a refusal, and serves the caller when the server is back', async () => {
    const { pool, proxy, logged } = await pooled({ acquireTimeoutMillis: 600_000, refuse: false })
    const first = await pool.acquire()
    await first.destroy()
    await proxy.setMode('refuse')
    const waiting = pool.acquire()
    await expect.poll(() => pool.stats().createErrors, { timeout: 10_000 }).toBeGreaterThanOrEqual(1)
    expect(pool.stats().pending).toBe(1)
    await proxy.setMode('pass')
    const lease = await waiting
    expect(lease.isHeld).toBe(true)
    await lease.release()
    expect(logged).toEqual([])
  })
})
