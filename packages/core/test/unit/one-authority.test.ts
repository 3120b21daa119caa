import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPool, PoolTimeoutError, type Pool, type PoolOptions } from '../../src/index.js'
import { FakeConnector, type FakeConnection } from '../support/fake-connector.js'

// Issue 16, on the fake connector with fake time: each test reproduces one
// way the entry's state and the rest of the pool used to disagree.

const pools: Pool<FakeConnection>[] = []

function fakePool(options: PoolOptions<FakeConnection> = {}, connector = new FakeConnector()) {
  const pool = createPool(connector, { validateAfterIdleMillis: 0, log: () => {}, ...options })
  pools.push(pool)
  return { pool, connector }
}

beforeEach(() => {
  vi.useFakeTimers({
    toFake: [
      'setTimeout',
      'clearTimeout',
      'setInterval',
      'clearInterval',
      'setImmediate',
      'clearImmediate',
      'performance',
      'Date',
    ],
  })
})

afterEach(async () => {
  const destroyed = Promise.all(pools.splice(0).map((pool) => pool.destroy({ graceMillis: 0 })))
  await vi.advanceTimersByTimeAsync(60_000)
  await destroyed
  vi.useRealTimers()
})

async function advance(millis: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(millis)
}

describe('1. a connection that breaks while it is being opened', () => {
  it('is closed, never lent, its slot reused, and destroy() settles', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      let first = true
      const { pool, connector } = fakePool({
        max: 1,
        acquireTimeoutMillis: 1_000,
        onConnect: (connection) => {
          // The server ends the session during the setup hook; the hook itself succeeds.
          if (first) connection.break()
          first = false
        },
      })
      const lease = pool.acquire()
      // The replacement waits out the backoff: the broken attempt counts as a failed one.
      await advance(100)
      const got = await lease
      expect(got.connection).toBe(connector.connections[1])
      expect(connector.connections[0]!.closed).toBe(true)
      await got.release()
      // The slot is not lost: the next acquire is served at once.
      const again = await pool.acquire()
      expect(again.connection).toBe(connector.connections[1])
      await again.release()
      let destroyed = false
      const destroying = pool.destroy({ graceMillis: 0 }).then(() => (destroyed = true))
      await advance(100)
      expect(destroyed).toBe(true)
      await destroying
      await advance(0)
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('breaks right after open, before anyone asked: evicted from the idle set, not resurrected', async () => {
    const { pool, connector } = fakePool({ min: 1, max: 1, onConnect: (connection) => connection.break() })
    await advance(1)
    expect(connector.connections[0]!.closed).toBe(true)
    expect(pool.stats()).toMatchObject({ idle: 0, used: 0 })
  })
})

describe('2. one fenced interrupt path', () => {
  it("a release's cancel that lands late never reaches the next holder's statement", async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.lateInterrupts = true
    connection.startStatement()
    const waiter = pool.acquire()
    await lease.release()
    await advance(0)
    expect(connection.interrupts).toEqual(['query'])
    // The statement ends on its own just before the server acts on the cancel.
    connection.finishQuery()
    await advance(0)
    let handed = false
    const next = waiter.then((got) => {
      handed = true
      got.connection.holder = got.id
      got.connection.startStatement()
      return got
    })
    await advance(0)
    // Fenced: nobody gets the connection while the cancel is in flight.
    expect(handed).toBe(false)
    connection.deliverInterrupts()
    const got = await next
    expect(got.connection).toBe(connection)
    connection.deliverInterrupts()
    expect(connection.strayInterrupts).toEqual([])
    connection.finishQuery()
    await got.release()
  })

  it("a holder's two interrupts both fence the hand-over", async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.lateInterrupts = true
    connection.startStatement()
    void lease.interrupt('query')
    await advance(0)
    connection.startStatement()
    void lease.interrupt('query')
    await advance(0)
    expect(connection.interrupts).toEqual(['query', 'query'])
    connection.finishQuery()
    const waiter = pool.acquire()
    // A dirty release resolves once the connection is clean: not before the fence opens.
    const released = lease.release()
    let handed = false
    void waiter.then(() => (handed = true))
    await advance(0)
    expect(handed).toBe(false)
    connection.deliverInterrupts()
    await released
    const got = await waiter
    expect(got.connection).toBe(connection)
    await got.release()
  })
})

describe('3. every eviction of a busy connection cancels first', () => {
  const cases: Array<[string, PoolOptions<FakeConnection>, (lease: { destroy(): Promise<void> }) => Promise<void>]> = [
    ['lease.destroy()', {}, (lease) => lease.destroy()],
    ['maxUses', { maxUses: 1 }, async () => {}],
    ['maxLifetimeMillis', { maxLifetimeMillis: 1_000 }, async () => advance(2_000)],
  ]
  for (const [name, options, end] of cases) {
    it(`${name}: the statement is cancelled before the connection is closed`, async () => {
      const { pool } = fakePool({ max: 1, ...options })
      const lease = await pool.acquire()
      const connection = lease.connection
      connection.startStatement()
      connection.ignoreCancel = false
      const order: string[] = []
      const close = connection.close.bind(connection)
      connection.close = () => {
        order.push(`close (busy: ${connection.busy})`)
        return close()
      }
      const interrupt = connection.interrupt.bind(connection)
      connection.interrupt = (scope, isCurrent) => {
        order.push(`interrupt ${scope}`)
        return interrupt(scope, isCurrent)
      }
      await end(lease)
      if (name !== 'lease.destroy()') await lease.release()
      await advance(10)
      expect(connection.interrupts).toEqual(['query'])
      expect(order).toEqual(['interrupt query', 'close (busy: false)'])
    })
  }

  it('a broken busy connection is closed without a cancel (there is no session left to cancel on)', async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.startStatement()
    connection.break()
    await lease.release()
    await advance(10)
    expect(connection.interrupts).toEqual([])
    expect(connection.closed).toBe(true)
  })
})

describe('6. destroy() leaves nothing behind', () => {
  it('waits for an interrupt still in flight', async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.lateInterrupts = true
    connection.startStatement()
    void lease.interrupt('query')
    await advance(0)
    connection.finishQuery()
    void lease.release()
    let destroyed = false
    void pool.destroy({ graceMillis: 0 }).then(() => (destroyed = true))
    await advance(100)
    expect(destroyed).toBe(false)
    connection.deliverInterrupts()
    await advance(0)
    expect(destroyed).toBe(true)
    expect(connection.closed).toBe(true)
  })

  it('leaves no timer: the reaper, the lease watch and the queue are stopped', async () => {
    const { pool } = fakePool({ max: 2, idleTimeoutMillis: 1_000, leakDetectionMillis: 500, maxLeaseMillis: 2_000 })
    const a = await pool.acquire()
    const b = await pool.acquire()
    const queued = pool.acquire().catch((error: unknown) => error)
    await a.release()
    await b.release()
    await ((await queued) as { release(): Promise<void> }).release()
    const destroying = pool.destroy({ graceMillis: 0 })
    await advance(0)
    await destroying
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('5. acquire timeouts are per caller', () => {
  it('a caller that spent time on a failed validation ping times out within its own deadline', async () => {
    const { pool, connector } = fakePool({
      max: 1,
      acquireTimeoutMillis: 1_000,
      createTimeoutMillis: 20_000,
      validateAfterIdleMillis: 10,
    })
    const holder = await pool.acquire()
    await holder.release()
    await advance(20)
    // The idle connection needs a ping that fails after 600 ms; new connections take 10 s.
    connector.pingFails = true
    connector.pingDelayMillis = 600
    connector.connectDelayMillis = 10_000
    const startedAt = performance.now()
    let lateAt: number | undefined
    const late = pool.acquire().catch((error: unknown) => {
      lateAt = performance.now()
      return error
    })
    await advance(500)
    // Meanwhile another caller queues, with a deadline 500 ms later.
    const other = pool.acquire().catch((error: unknown) => error)
    await advance(2_000)
    expect(await late).toBeInstanceOf(PoolTimeoutError)
    expect(lateAt! - startedAt).toBeLessThanOrEqual(1_000 + 20)
    expect(await other).toBeInstanceOf(PoolTimeoutError)
  })
})

describe('4. durations near their limit', () => {
  it('createTimeoutMillis at 2^31-1 opens one connection, not a storm (the pool adds nothing on top)', async () => {
    const max = 2 ** 31 - 1
    const connector = new FakeConnector()
    connector.connectDelayMillis = 100
    const { pool } = fakePool(
      {
        max: 2,
        createTimeoutMillis: max,
        acquireTimeoutMillis: max,
        idleTimeoutMillis: max,
        cleanupTimeoutMillis: max,
        maxLeaseMillis: max,
        leakDetectionMillis: max,
        validateAfterIdleMillis: max,
        maxLifetimeMillis: max,
      },
      connector,
    )
    const lease = pool.acquire()
    await advance(50)
    expect(connector.connectAttempts).toBe(1)
    await advance(100)
    const got = await lease
    got.connection.transaction = 'in-transaction'
    await got.release()
    expect(pool.stats()).toMatchObject({ idle: 1, created: 1, createErrors: 0, rolledBackOnRelease: 1 })
    await advance(10_000)
    expect(connector.connectAttempts).toBe(1)
  })
})
