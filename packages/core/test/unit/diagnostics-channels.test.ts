import diagnostics from 'node:diagnostics_channel'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  createPool,
  POOL_DIAGNOSTICS_CHANNELS,
  PoolTimeoutError,
  type Pool,
  type PoolLogEntry,
} from '../../src/index.js'
import { FakeConnector, type FakeConnection } from '../support/fake-connector.js'

const pools: Pool<FakeConnection>[] = []
const subscriptions: Array<[string, (message: unknown) => void]> = []

/** Every message published on `name` from now on. */
function listen(name: string): unknown[] {
  const messages: unknown[] = []
  const onMessage = (message: unknown) => messages.push(message)
  diagnostics.subscribe(name, onMessage)
  subscriptions.push([name, onMessage])
  return messages
}

afterEach(async () => {
  for (const [name, onMessage] of subscriptions.splice(0)) diagnostics.unsubscribe(name, onMessage)
  vi.restoreAllMocks()
  await Promise.all(pools.splice(0).map((pool) => pool.destroy({ graceMillis: 0 })))
})

describe('node:diagnostics_channel', () => {
  it('names the channels listed in the public contract', () => {
    expect(Object.values(POOL_DIAGNOSTICS_CHANNELS)).toEqual([
      'kysely-pooled:pool:connect',
      'kysely-pooled:pool:acquire',
      'kysely-pooled:pool:release',
      'kysely-pooled:pool:timeout',
      'kysely-pooled:pool:error',
    ])
  })

  it('publishes one message per connect, acquire and release, with the pool name', async () => {
    const connects = listen(POOL_DIAGNOSTICS_CHANNELS.connect)
    const acquires = listen(POOL_DIAGNOSTICS_CHANNELS.acquire)
    const releases = listen(POOL_DIAGNOSTICS_CHANNELS.release)
    const pool = createPool(new FakeConnector(), { max: 1, name: 'dc-events' })
    pools.push(pool)
    await pool.use(() => undefined)
    await pool.use(() => undefined)
    const mine = (messages: unknown[]) => messages.filter((m) => (m as { pool: string }).pool === 'dc-events')
    expect(mine(connects)).toEqual([{ pool: 'dc-events', connectionId: 1, createMillis: expect.any(Number) }])
    expect(mine(acquires)).toEqual([
      { pool: 'dc-events', leaseId: 1, waitedMillis: expect.any(Number) },
      { pool: 'dc-events', leaseId: 2, waitedMillis: expect.any(Number) },
    ])
    expect(mine(releases).map((m) => (m as { leaseId: number }).leaseId)).toEqual([1, 2])
  })

  it('publishes timeouts, and errors while still logging what nobody listens to', async () => {
    const timeouts = listen(POOL_DIAGNOSTICS_CHANNELS.timeout)
    const errors = listen(POOL_DIAGNOSTICS_CHANNELS.error)
    const logged: PoolLogEntry[] = []
    const connector = new FakeConnector()
    const pool = createPool(connector, {
      max: 1,
      acquireTimeoutMillis: 50,
      name: 'dc-faults',
      log: (entry) => logged.push(entry),
    })
    pools.push(pool)
    const held = await pool.acquire()
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolTimeoutError)
    expect(timeouts).toEqual([{ pool: 'dc-faults', error: expect.any(PoolTimeoutError) }])
    held.connection.break()
    expect(errors).toEqual([{ pool: 'dc-faults', error: expect.any(Error), context: 'connection #1 broke' }])
    expect(logged.map((entry) => entry.code)).toEqual(['KYSELY_POOLED_ERROR'])
    await held.release()
  })

  it('publishes nothing when nobody subscribes', async () => {
    const publish = vi.spyOn(diagnostics.Channel.prototype, 'publish')
    const pool = createPool(new FakeConnector(), { max: 1, acquireTimeoutMillis: 50, log: () => {} })
    pools.push(pool)
    const held = await pool.acquire()
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolTimeoutError)
    await held.release()
    expect(publish).not.toHaveBeenCalled()
  })
})
