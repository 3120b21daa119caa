import { afterEach, describe, expect, it } from 'vitest'
import {
  createPool,
  LeaseReleasedError,
  LeaseRevokedError,
  PoolClosedError,
  PoolConnectError,
  PoolQueueFullError,
  PoolTimeoutError,
  type Pool,
  type PoolOptions,
} from '../../src/index.js'
import { ConnectError, FakeConnector, type FakeConnection } from '../support/fake-connector.js'

const pools: Pool<FakeConnection>[] = []

function fakePool(options: PoolOptions = {}, connector = new FakeConnector()) {
  const pool = createPool(connector, { validateAfterIdleMillis: 0, ...options })
  pools.push(pool)
  return { pool, connector }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.destroy({ graceMillis: 0 })))
})

describe('leases', () => {
  it('reuses an idle connection with no extra statements', async () => {
    const { pool, connector } = fakePool({ max: 1 })
    const first = await pool.acquire()
    const connection = first.connection
    await first.release()
    const second = await pool.acquire()
    expect(second.connection).toBe(connection)
    await second.release()
    expect(connector.connections).toHaveLength(1)
    expect(connection.statements).toEqual([])
  })

  it('throws LeaseReleasedError on double release and on use after release', async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    await lease.release()
    await expect(lease.release()).rejects.toBeInstanceOf(LeaseReleasedError)
    expect(() => lease.connection).toThrow(LeaseReleasedError)
    expect(lease.isHeld).toBe(false)
  })

  it('a second release never touches the connection now lent to someone else', async () => {
    const { pool } = fakePool({ max: 1 })
    const first = await pool.acquire()
    await first.release()
    const second = await pool.acquire()
    await expect(first.release()).rejects.toBeInstanceOf(LeaseReleasedError)
    expect(second.isHeld).toBe(true)
    expect(pool.stats().used).toBe(1)
    // The pool still counts the second holder: a third caller must wait.
    await expect(pool.acquire({ signal: AbortSignal.timeout(30) })).rejects.toThrow()
    await second.release()
  })

  it('use() releases even when the callback throws', async () => {
    const { pool } = fakePool({ max: 1 })
    await expect(
      pool.use(() => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(pool.stats()).toMatchObject({ used: 0, idle: 1 })
    expect(await pool.use((connection) => connection.id)).toBeGreaterThan(0)
  })
})

describe('release hygiene', () => {
  it('rolls back an open transaction before reuse', async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.transaction = 'in-transaction'
    await lease.release()
    expect(connection.statements).toEqual(['ROLLBACK'])
    expect(connection.transaction).toBe('idle')
    expect(pool.stats().rolledBackOnRelease).toBe(1)
  })

  it('rolls back a failed transaction and an unknown state', async () => {
    const { pool } = fakePool({ max: 1 })
    for (const state of ['failed', 'unknown'] as const) {
      const lease = await pool.acquire()
      lease.connection.transaction = state
      await lease.release()
    }
    expect(pool.stats().rolledBackOnRelease).toBe(2)
  })

  it('destroys a connection whose rollback fails, and replaces it', async () => {
    const { pool, connector } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const dirty = lease.connection
    dirty.transaction = 'in-transaction'
    dirty.failRollback = true
    await lease.release()
    expect(dirty.closed).toBe(true)
    const next = await pool.acquire()
    expect(next.connection).not.toBe(dirty)
    await next.release()
    expect(connector.connections).toHaveLength(2)
  })

  it("reset 'auto' resets only a changed session", async () => {
    const { pool } = fakePool({ max: 1, reset: 'auto' })
    const lease = await pool.acquire()
    const connection = lease.connection
    await lease.release()
    expect(connection.statements).toEqual([])
    const again = await pool.acquire()
    again.connection.sessionChanged = true
    await again.release()
    expect(connection.statements).toEqual(['RESET'])
    expect(pool.stats().resetOnRelease).toBe(1)
  })

  it("reset 'always' resets every release; 'never' never", async () => {
    const always = fakePool({ max: 1, reset: 'always' }).pool
    const lease = await always.acquire()
    const connection = lease.connection
    await lease.release()
    expect(connection.statements).toEqual(['RESET'])

    const never = fakePool({ max: 1, reset: 'never' }).pool
    const other = await never.acquire()
    other.connection.sessionChanged = true
    const otherConnection = other.connection
    await other.release()
    expect(otherConnection.statements).toEqual([])
  })

  it('rolls back before resetting (reset only runs outside a transaction)', async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.transaction = 'in-transaction'
    connection.sessionChanged = true
    await lease.release()
    expect(connection.statements).toEqual(['ROLLBACK', 'RESET'])
  })

  it('interrupts a statement still running at release at once, judging the transaction once it stopped', async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.busy = true
    connection.holdInterrupt = true
    connection.transaction = 'idle' // stale: the server has not answered yet
    await lease.release() // does not wait for the statement
    expect(pool.stats()).toMatchObject({ idle: 0, used: 1 }) // the slot stays taken
    connection.transaction = 'failed'
    connection.releaseInterrupts()
    await expect.poll(() => pool.stats().idle).toBe(1)
    expect(connection.interrupts).toEqual(['query'])
    expect(connection.statements).toEqual(['ROLLBACK'])
  })

  it('destroys a connection that broke while leased', async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.break()
    await lease.release()
    expect(connection.closed).toBe(true)
    expect(pool.stats().size).toBe(0)
  })

  it('evicts an idle connection that broke, without an unhandled error', async () => {
    const { pool } = fakePool({ max: 1 })
    const errors: string[] = []
    pool.on('error', (event) => errors.push(event.context))
    const lease = await pool.acquire()
    const connection = lease.connection
    await lease.release()
    connection.break()
    await sleep(5)
    expect(pool.stats().size).toBe(0)
    expect(errors).toHaveLength(1)
    const next = await pool.acquire()
    expect(next.connection).not.toBe(connection)
    await next.release()
  })

  it('lease.destroy() closes instead of reusing', async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const connection = lease.connection
    await lease.destroy()
    await sleep(1)
    expect(connection.closed).toBe(true)
    expect(pool.stats().destroyed).toBe(1)
  })
})

describe('queue with timeout', () => {
  it('serves waiters in FIFO order', async () => {
    const { pool } = fakePool({ max: 1 })
    const holder = await pool.acquire()
    const order: number[] = []
    const waiters = [1, 2, 3, 4].map((n) =>
      pool.acquire().then(async (lease) => {
        order.push(n)
        await sleep(1)
        await lease.release()
      }),
    )
    await sleep(5)
    await holder.release()
    await Promise.all(waiters)
    expect(order).toEqual([1, 2, 3, 4])
  })

  it('times out with the counts and the holders', async () => {
    const { pool } = fakePool({ max: 2, acquireTimeoutMillis: 50, leakDetectionMillis: 60_000 })
    const a = await pool.acquire()
    const b = await pool.acquire()
    b.connection.transaction = 'in-transaction'
    const error = await pool.acquire().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PoolTimeoutError)
    const timeout = error as PoolTimeoutError
    expect(timeout.code).toBe('POOL_ACQUIRE_TIMEOUT')
    expect(timeout.reason).toBe('pool-full')
    expect(timeout).toMatchObject({ size: 2, used: 2, idle: 0, max: 2 })
    expect(timeout.holders).toHaveLength(2)
    expect(timeout.holders.map((h) => h.transaction).sort()).toEqual(['idle', 'in-transaction'])
    expect(timeout.holders[0]?.acquiredAt).toContain('pool.test.ts')
    expect(timeout.message).toContain('pool is full')
    expect(timeout.message).toContain('pool.test.ts')
    expect(pool.stats().timeouts).toBe(1)
    await a.release()
    await b.release()
  })

  it('refuses callers beyond maxWaiting at once', async () => {
    const { pool } = fakePool({ max: 1, maxWaiting: 2, acquireTimeoutMillis: 1_000 })
    const holder = await pool.acquire()
    const waiting = [pool.acquire(), pool.acquire()]
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolQueueFullError)
    expect(pool.stats().queueFull).toBe(1)
    await holder.release()
    for (const lease of await Promise.all(waiting.map((w) => w.then(async (l) => (await l.release(), l))))) {
      expect(lease.isHeld).toBe(false)
    }
  })

  it('maxWaiting 0 fails fast when the pool is at max, but still grows to max', async () => {
    const { pool } = fakePool({ max: 2, maxWaiting: 0 })
    const a = await pool.acquire()
    const b = await pool.acquire()
    const error = await pool.acquire().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PoolQueueFullError)
    expect((error as PoolQueueFullError).code).toBe('POOL_QUEUE_FULL')
    await a.release()
    await b.release()
  })

  it('an aborted caller leaves the queue and does not take a connection', async () => {
    const { pool } = fakePool({ max: 1 })
    const holder = await pool.acquire()
    const controller = new AbortController()
    const aborted = pool.acquire({ signal: controller.signal })
    const next = pool.acquire()
    await sleep(2)
    expect(pool.stats().pending).toBe(2)
    controller.abort()
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' })
    expect(pool.stats()).toMatchObject({ pending: 1, aborted: 1 })
    await holder.release()
    const lease = await next
    expect(lease.isHeld).toBe(true)
    await lease.release()
  })

  it('rejects at once with an already-aborted signal', async () => {
    const { pool } = fakePool({ max: 1 })
    const holder = await pool.acquire()
    await expect(pool.acquire({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    await holder.release()
    // Also when an idle connection is there for the taking: it stays idle.
    await expect(pool.acquire({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    await expect(pool.use(() => 1, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    expect(pool.stats()).toMatchObject({ idle: 1, used: 0, acquires: 1 })
  })

  it('holds 500 callers on max 5 and serves them all, never opening more than max', async () => {
    const { pool, connector } = fakePool({ max: 5 })
    let inUse = 0
    let peak = 0
    await Promise.all(
      Array.from({ length: 500 }, () =>
        pool.use(async () => {
          inUse++
          peak = Math.max(peak, inUse)
          await sleep(0)
          inUse--
        }),
      ),
    )
    expect(peak).toBe(5)
    expect(connector.connections).toHaveLength(5)
    expect(pool.stats()).toMatchObject({ acquires: 500, used: 0, pending: 0 })
  })
})

describe('creating connections', () => {
  it('warms min connections in parallel at start', async () => {
    const connector = new FakeConnector()
    connector.connectDelayMillis = 30
    const { pool } = fakePool({ min: 4, max: 4 }, connector)
    await pool.ready()
    // All four connects were under way at the same time.
    expect(connector.maxConnecting).toBe(4)
    expect(pool.stats()).toMatchObject({ size: 4, idle: 4, created: 4 })
  })

  it('fails waiters at once on a fatal connect error', async () => {
    const connector = new FakeConnector()
    connector.failAlways = new ConnectError('password authentication failed for user "app"', 'fatal')
    const { pool } = fakePool({ max: 2, acquireTimeoutMillis: 10_000 }, connector)
    const error = await pool.acquire().catch((e: unknown) => e)
    // Not a PoolTimeoutError: the caller was failed at once, not at its timeout.
    expect(error).toBeInstanceOf(PoolConnectError)
    expect(pool.stats().timeouts).toBe(0)
    expect((error as PoolConnectError).cause).toBe(connector.failAlways)
  })

  it('rejects ready() on a fatal error during warm-up', async () => {
    const connector = new FakeConnector()
    connector.failAlways = new ConnectError('database "nope" does not exist', 'fatal')
    const { pool } = fakePool({ min: 2, max: 2 }, connector)
    await expect(pool.ready()).rejects.toBeInstanceOf(PoolConnectError)
  })

  it('keeps callers queued while the server refuses, retrying with backoff', async () => {
    const connector = new FakeConnector()
    const refused = () => new ConnectError('sorry, too many clients already', 'transient')
    connector.failures.push(refused(), refused(), refused())
    const { pool } = fakePool({ max: 1, acquireTimeoutMillis: 5_000 }, connector)
    const lease = await pool.acquire()
    expect(connector.connectAttempts).toBe(4)
    expect(pool.stats().createErrors).toBe(3)
    await lease.release()
  })

  it('says the server is refusing when the wait times out', async () => {
    const connector = new FakeConnector()
    connector.failAlways = new ConnectError('sorry, too many clients already', 'transient')
    const { pool } = fakePool({ max: 3, acquireTimeoutMillis: 300 }, connector)
    const callers = Array.from({ length: 20 }, () => pool.acquire().catch((e: unknown) => e))
    const errors = await Promise.all(callers)
    for (const error of errors) {
      expect(error).toBeInstanceOf(PoolTimeoutError)
      expect((error as PoolTimeoutError).reason).toBe('server-refusing')
      expect((error as PoolTimeoutError).message).toContain('too many clients')
    }
    // Backoff: far fewer attempts than callers × retries (no storm).
    expect(connector.connectAttempts).toBeLessThan(40)
  })

  it('retires connections past maxLifetimeMillis instead of lending them', async () => {
    const { pool, connector } = fakePool({ max: 1, maxLifetimeMillis: 20 })
    const first = await pool.acquire()
    const old = first.connection
    await first.release()
    await sleep(30)
    const second = await pool.acquire()
    expect(second.connection).not.toBe(old)
    expect(old.closed).toBe(true)
    await second.release()
    expect(connector.connections).toHaveLength(2)
  })

  it('pings a connection idle longer than validateAfterIdleMillis, replacing it when the ping fails', async () => {
    const { pool, connector } = fakePool({ max: 1, validateAfterIdleMillis: 10 })
    const first = await pool.acquire()
    const old = first.connection
    await first.release()
    const quick = await pool.acquire()
    await quick.release()
    expect(connector.pings).toBe(0)
    await sleep(20)
    connector.pingFails = true
    const second = await pool.acquire()
    expect(connector.pings).toBe(1)
    expect(second.connection).not.toBe(old)
    await second.release()
  })

  it('closes idle connections above min after idleTimeoutMillis', async () => {
    const { pool } = fakePool({ min: 1, max: 3, idleTimeoutMillis: 20 })
    await pool.ready()
    const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
    await Promise.all(leases.map((l) => l.release()))
    expect(pool.stats().idle).toBe(3)
    await sleep(120)
    expect(pool.stats().idle).toBe(1)
  })
})

describe('abandoned leases', () => {
  it('reports a lease held past leakDetectionMillis with its acquire site', async () => {
    const { pool } = fakePool({ max: 1, leakDetectionMillis: 20 })
    const leaks: { acquiredAt?: string; stack?: string }[] = []
    pool.on('leak', (event) => leaks.push(event))
    const lease = await pool.acquire()
    await sleep(60)
    expect(leaks).toHaveLength(1)
    expect(leaks[0]?.acquiredAt).toContain('pool.test.ts')
    expect(pool.stats().leaks).toBe(1)
    expect(pool.holders()[0]?.acquiredAt).toContain('pool.test.ts')
    await lease.release()
  })

  it('revokes a lease held past maxLeaseMillis: rolled back, reclaimed, later use throws', async () => {
    const { pool } = fakePool({ max: 1, maxLeaseMillis: 20 })
    const revokes: string[] = []
    pool.on('revoke', (event) => revokes.push(event.reason))
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.transaction = 'in-transaction'
    const next = await pool.acquire() // waits until the revocation frees the slot
    expect(revokes).toEqual(['max-lease'])
    expect(connection.statements).toEqual(['ROLLBACK'])
    expect(next.connection).toBe(connection)
    expect(() => lease.connection).toThrow(LeaseRevokedError)
    await expect(lease.release()).resolves.toBeUndefined()
    expect(next.isHeld).toBe(true)
    await next.release()
    expect(pool.stats().revoked).toBe(1)
  })

  it('interrupts a statement still running in a revoked lease', async () => {
    const { pool } = fakePool({ max: 1, maxLeaseMillis: 20 })
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.busy = true
    const next = await pool.acquire()
    expect(connection.interrupts).toEqual(['query'])
    await next.release()
  })

  it('reclaims the connection of a lease garbage-collected while held', async () => {
    const gc = (globalThis as { gc?: () => void }).gc
    expect(gc, 'run with --expose-gc').toBeTypeOf('function')
    const { pool } = fakePool({ max: 1 })
    await (async () => {
      const lease = await pool.acquire()
      lease.connection.transaction = 'in-transaction'
    })()
    for (let i = 0; i < 50 && pool.stats().reclaimed === 0; i++) {
      gc!()
      await sleep(10)
    }
    expect(pool.stats().reclaimed).toBe(1)
    const next = await pool.acquire({ signal: AbortSignal.timeout(2_000) })
    expect(next.connection.transaction).toBe('idle')
    await next.release()
  })
})

describe('destroy', () => {
  it('fails the queue, waits for leases within the grace period, then revokes the rest', async () => {
    const { pool } = fakePool({ max: 2 })
    const returned = await pool.acquire()
    const kept = await pool.acquire()
    const keptConnection = kept.connection
    keptConnection.transaction = 'in-transaction'
    const waiter = pool.acquire().catch((e: unknown) => e)
    const destroyed = pool.destroy({ graceMillis: 50 })
    expect(await waiter).toBeInstanceOf(PoolClosedError)
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolClosedError)
    await returned.release()
    await destroyed
    expect(keptConnection.statements).toContain('ROLLBACK')
    expect(keptConnection.closed).toBe(true)
    expect(() => kept.connection).toThrow(LeaseRevokedError)
    expect(pool.stats()).toMatchObject({ size: 0, revoked: 1 })
  })

  it("finishes even when a revoked lease's statement never stops: the connection is closed", async () => {
    const { pool } = fakePool({ max: 1, cleanupTimeoutMillis: 50 })
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.busy = true
    connection.ignoreCancel = true
    const destroys: string[] = []
    pool.on('destroy', (event) => destroys.push(event.reason))
    await pool.destroy({ graceMillis: 10 })
    expect(connection.interrupts).toEqual(['query'])
    expect(connection.closed).toBe(true)
    expect(destroys).toEqual(['dirty'])
    expect(pool.stats()).toMatchObject({ size: 0, revoked: 1 })
  })
})

describe('the wait queue', () => {
  it('times out a deep queue on time, in order, with one snapshot of the holders', async () => {
    const { pool } = fakePool({ max: 1, acquireTimeoutMillis: 50, maxWaiting: Infinity })
    const holder = await pool.acquire()
    const errors = await Promise.all(
      Array.from({ length: 2_000 }, () =>
        pool.acquire().then(
          () => undefined,
          (e: unknown) => e as PoolTimeoutError,
        ),
      ),
    )
    expect(errors.every((e) => e instanceof PoolTimeoutError)).toBe(true)
    expect(new Set(errors.map((e) => e?.holders)).size).toBeLessThan(errors.length)
    expect(pool.stats()).toMatchObject({ timeouts: 2_000, pending: 0 })
    await holder.release()
  })

  it('skips callers that aborted and keeps FIFO for the rest', async () => {
    const { pool } = fakePool({ max: 1 })
    const holder = await pool.acquire()
    const controllers = Array.from({ length: 6 }, () => new AbortController())
    const served: number[] = []
    const callers = controllers.map((controller, n) =>
      pool.acquire({ signal: controller.signal }).then(
        async (lease) => {
          served.push(n)
          await lease.release()
        },
        () => undefined,
      ),
    )
    controllers[1]!.abort()
    controllers[4]!.abort()
    expect(pool.stats().pending).toBe(4)
    await holder.release()
    await Promise.all(callers)
    expect(served).toEqual([0, 2, 3, 5])
  })
})
