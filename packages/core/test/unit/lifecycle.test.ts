import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  createPool,
  LeaseRevokedError,
  PoolConfigError,
  PoolConnectError,
  PoolTimeoutError,
  type Pool,
  type PoolLogEntry,
  type PoolOptions,
} from '../../src/index.js'
import { ConnectError, FakeConnector, type FakeConnection } from '../support/fake-connector.js'

// Regression tests for the connection lifecycle (issue 8), on the fake
// connector: each fault is injected on command, time is faked.

const pools: Pool<FakeConnection>[] = []

function fakePool(options: PoolOptions<FakeConnection> = {}, connector = new FakeConnector()) {
  const pool = createPool(connector, { validateAfterIdleMillis: 0, ...options })
  pools.push(pool)
  return { pool, connector }
}

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'performance', 'Date'],
  })
})

afterEach(async () => {
  const destroyed = Promise.all(pools.splice(0).map((pool) => pool.destroy({ graceMillis: 0 })))
  // Every wait inside destroy() is bounded: a minute of fake time ends them all.
  await vi.advanceTimersByTimeAsync(60_000)
  await destroyed
  vi.useRealTimers()
})

/** Lets promise chains run, then moves fake time on. */
async function advance(millis: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(millis)
}

describe('a connection that breaks while the pool works on it', () => {
  it('dies during the validation ping: evicted, replaced, and destroy() still finishes', async () => {
    const { pool, connector } = fakePool({ max: 1, validateAfterIdleMillis: 10 })
    const first = await pool.acquire()
    const dead = first.connection
    await first.release()
    await advance(20)
    connector.pingBreaks = true
    const destroys: string[] = []
    pool.on('destroy', (event) => destroys.push(event.reason))
    pool.on('error', () => {})
    const lease = await pool.acquire()
    expect(lease.connection).not.toBe(dead)
    expect(dead.closed).toBe(true)
    expect(destroys).toEqual(['broken'])
    expect(pool.stats()).toMatchObject({ size: 1, used: 1, idle: 0, destroyed: 1 })
    await lease.release()
    await pool.destroy({ graceMillis: 0 })
    expect(pool.stats().size).toBe(0)
  })

  it('breaks while being cleaned: never handed to the next waiter', async () => {
    const { pool } = fakePool({ max: 1 })
    pool.on('error', () => {})
    const lease = await pool.acquire()
    const dirty = lease.connection
    dirty.transaction = 'in-transaction'
    dirty.duringRollback = () => dirty.break()
    const waiter = pool.acquire()
    await lease.release()
    const next = await waiter
    expect(next.connection).not.toBe(dirty)
    expect(dirty.statements).toEqual(['ROLLBACK'])
    expect(dirty.closed).toBe(true)
    await next.release()
  })
})

describe('interrupts are fenced by lease', () => {
  it("a session kill started by a released lease never reaches the next holder's connection", async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const first = lease.connection
    first.holdInterrupt = true
    const killing = lease.interrupt('session')
    await lease.release()
    const next = await pool.acquire()
    expect(next.connection).not.toBe(first) // a connection asked to die is never lent again
    first.releaseInterrupts()
    await killing
    expect(first.fencedOut).toEqual(['session'])
    expect(next.connection.broken).toBe(false)
    await next.release()
  })

  it('a query cancel still under way holds the connection back until it settles, then is dropped', async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.holdInterrupt = true
    const cancelling = lease.interrupt('query')
    const released = lease.release()
    let served = false
    const next = pool.acquire().then((l) => ((served = true), l))
    await advance(0)
    expect(served).toBe(false)
    connection.releaseInterrupts()
    await Promise.all([cancelling, released])
    const lease2 = await next
    expect(lease2.connection).toBe(connection)
    expect(connection.interrupts).toEqual([])
    expect(connection.fencedOut).toEqual(['query'])
    await lease2.release()
  })

  it('an interrupt from a live lease goes through', async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    lease.connection.busy = true
    await lease.interrupt('query')
    expect(lease.connection.interrupts).toEqual(['query'])
    await lease.release()
  })
})

describe("validation is bounded by the caller's deadline and signal", () => {
  it('a ping that never answers costs the caller its deadline, not one connect timeout per idle connection', async () => {
    const { pool, connector } = fakePool({ max: 5, validateAfterIdleMillis: 10, acquireTimeoutMillis: 2_500 })
    const leases = await Promise.all(Array.from({ length: 5 }, () => pool.acquire()))
    await Promise.all(leases.map((lease) => lease.release()))
    await advance(20)
    connector.pingHangs = true
    const caller = pool.acquire().catch((error: unknown) => error)
    await advance(2_500)
    const error = await caller
    expect(error).toBeInstanceOf(PoolTimeoutError)
    expect((error as PoolTimeoutError).waitedMillis).toBe(2_500)
    expect(connector.pings).toBe(1)
    // The unanswered ping runs out its own bound, then the connection is closed.
    await advance(5_000)
    expect(pool.stats().destroyed).toBe(1)
  })

  it('an abort during the ping rejects the caller at once', async () => {
    const { pool, connector } = fakePool({ max: 1, validateAfterIdleMillis: 10 })
    await (await pool.acquire()).release()
    await advance(20)
    connector.pingHangs = true
    const controller = new AbortController()
    const caller = pool.acquire({ signal: controller.signal }).catch((error: unknown) => error)
    await advance(1)
    controller.abort(new Error('user went away'))
    expect(((await caller) as Error).message).toBe('user went away')
    expect(pool.stats().aborted).toBe(1)
  })
})

describe('a statement still running at release', () => {
  it('one that already failed (only the ready message pending) is cleaned before release() resolves, with no interrupt', async () => {
    const { pool } = fakePool({ max: 1 })
    const lease = await pool.acquire()
    const connection = lease.connection
    connection.busy = true
    connection.settling = true
    connection.transaction = 'failed'
    const released = lease.release()
    connection.finishQuery() // the ready message arrives
    await released
    expect(connection.statements).toEqual(['ROLLBACK'])
    expect([...connection.interrupts, ...connection.fencedOut]).toEqual([])
    expect(pool.stats()).toMatchObject({ idle: 1, rolledBackOnRelease: 1 })
  })

  it('release() resolves at once; a statement that ignores the cancel is cut off after cleanupTimeoutMillis', async () => {
    const { pool } = fakePool({ max: 1, cleanupTimeoutMillis: 300 })
    const lease = await pool.acquire()
    const stuck = lease.connection
    stuck.busy = true
    stuck.ignoreCancel = true
    await lease.release()
    expect(stuck.interrupts).toEqual(['query'])
    const waiter = pool.acquire()
    await advance(299)
    expect(pool.stats()).toMatchObject({ used: 1, pending: 1 })
    await advance(1)
    const next = await waiter
    expect(stuck.closed).toBe(true)
    expect(next.connection).not.toBe(stuck)
    await next.release()
  })

  it('a revoked slot is free within maxLeaseMillis plus cleanupTimeoutMillis', async () => {
    const { pool } = fakePool({ max: 1, maxLeaseMillis: 1_000, cleanupTimeoutMillis: 200 })
    pool.on('revoke', () => {})
    const lease = await pool.acquire()
    lease.connection.busy = true
    lease.connection.ignoreCancel = true
    let served = false
    const waiter = pool.acquire().then((l) => ((served = true), l))
    await advance(1_150)
    expect(served).toBe(false)
    await advance(200)
    expect(served).toBe(true)
    expect(() => lease.connection).toThrow(LeaseRevokedError)
    await (await waiter).release()
  })

  it('destroy({ graceMillis }) with a stuck statement takes grace + cleanup, not seconds more', async () => {
    const { pool } = fakePool({ max: 1, cleanupTimeoutMillis: 500 })
    const lease = await pool.acquire()
    lease.connection.busy = true
    lease.connection.ignoreCancel = true
    let done = false
    const destroyed = pool.destroy({ graceMillis: 1_000 }).then(() => (done = true))
    await advance(1_499)
    expect(done).toBe(false)
    await advance(1)
    await destroyed
    expect(() => lease.connection).toThrow(LeaseRevokedError)
  })
})

describe('errors and events are heard and accurate', () => {
  it("an error with no 'error' listener goes to the log option", async () => {
    const logged: PoolLogEntry[] = []
    const { pool } = fakePool({ max: 1, log: (entry) => logged.push(entry) })
    const lease = await pool.acquire()
    const connection = lease.connection
    await lease.release()
    connection.break(new Error('socket hang up'))
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({ level: 'error', code: 'KYSELY_POOLED_ERROR' })
    expect(logged[0]!.message).toContain('socket hang up')
  })

  it('with neither listener nor log option, it is a process warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const { pool } = fakePool({ max: 1 })
      const lease = await pool.acquire()
      const connection = lease.connection
      await lease.release()
      connection.break(new Error('socket hang up'))
      expect(warn).toHaveBeenCalledTimes(1)
      expect(String(warn.mock.calls[0]![0])).toContain('socket hang up')
    } finally {
      warn.mockRestore()
    }
  })

  it("idle reaping emits 'destroy' with reason 'idle'", async () => {
    const { pool } = fakePool({ max: 2, idleTimeoutMillis: 100 })
    const destroys: string[] = []
    pool.on('destroy', (event) => destroys.push(event.reason))
    await (await pool.acquire()).release()
    await advance(300)
    expect(destroys).toEqual(['idle'])
    expect(pool.stats().size).toBe(0)
  })

  it("a revoke is reported as 'revoke' only, not also as 'release'", async () => {
    const { pool } = fakePool({ max: 1, maxLeaseMillis: 100 })
    const seen: string[] = []
    pool.on('revoke', (event) => seen.push(`revoke:${event.reason}`))
    pool.on('release', () => seen.push('release'))
    await pool.acquire()
    await advance(150)
    expect(seen).toEqual(['revoke:max-lease'])
  })
})

describe('bad input never hangs or crashes', () => {
  it.each([Number.NaN, -1, 1.5, 2 ** 31, Infinity, '10'])(
    'destroy({ graceMillis: %s }) is a PoolConfigError and the pool keeps working',
    async (grace) => {
      const { pool } = fakePool({ max: 1 })
      await expect(pool.destroy({ graceMillis: grace as number })).rejects.toBeInstanceOf(PoolConfigError)
      expect(pool.closed).toBe(false)
      await (await pool.acquire()).release()
    },
  )
})

describe('pg-pool parity', () => {
  it('maxUses closes a connection after that many leases', async () => {
    const { pool, connector } = fakePool({ max: 1, maxUses: 2 })
    const destroys: string[] = []
    pool.on('destroy', (event) => destroys.push(event.reason))
    for (let i = 0; i < 5; i++) {
      await (await pool.acquire()).release()
    }
    expect(connector.connections).toHaveLength(3)
    expect(destroys).toEqual(['max-uses', 'max-uses'])
  })

  it('allowExitOnIdle lets idle connections stop holding the process', async () => {
    const { pool } = fakePool({ max: 1, allowExitOnIdle: true })
    const lease = await pool.acquire()
    const connection = lease.connection
    expect(connection.keepsProcessAlive).toBe(true)
    await lease.release()
    expect(connection.keepsProcessAlive).toBe(false)
  })

  it('onConnect runs once per connection, its state is the baseline, and it runs again after a reset', async () => {
    const setups: number[] = []
    const { pool } = fakePool({
      max: 1,
      onConnect: (connection) => {
        setups.push(connection.id)
        connection.sessionChanged = true // e.g. SET TIME ZONE
      },
    })
    const first = await pool.acquire()
    const connection = first.connection
    expect(connection.sessionChanged).toBe(false) // accepted as the baseline
    await first.release()
    expect(connection.statements).toEqual([]) // no reset for the hook's own state
    const second = await pool.acquire()
    connection.sessionChanged = true // the application changes the session
    await second.release()
    expect(connection.statements).toEqual(['RESET'])
    expect(setups).toEqual([connection.id, connection.id])
  })

  it('a failing onConnect fails the create, and the connection is closed', async () => {
    const { pool, connector } = fakePool({
      max: 1,
      onConnect: () => {
        throw new Error('setup failed')
      },
    })
    pool.on('error', () => {})
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolConnectError)
    expect(connector.connections[0]!.closed).toBe(true)
  })
})

describe('waiters survive a partial outage', () => {
  it('a fatal connect failure does not fail callers an open connection can serve', async () => {
    const { pool, connector } = fakePool({ max: 3, acquireTimeoutMillis: 5_000 })
    pool.on('error', () => {})
    const holders = await Promise.all([pool.acquire(), pool.acquire()])
    connector.failAlways = new ConnectError('password authentication failed', 'fatal')
    const callers = Array.from({ length: 4 }, () =>
      pool.acquire().then((lease) => lease.release().then(() => 'served')),
    )
    await advance(10)
    await Promise.all(holders.map((lease) => lease.release()))
    expect(await Promise.all(callers)).toEqual(['served', 'served', 'served', 'served'])
  })

  it('with no open connection, the same failure fails the queue at once', async () => {
    const { pool, connector } = fakePool({ max: 3 })
    pool.on('error', () => {})
    connector.failAlways = new ConnectError('password authentication failed', 'fatal')
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolConnectError)
  })
})
