import { describe, expect, it } from 'vitest'
import {
  createPool,
  LeaseReleasedError,
  PoolError,
  StalledStatementError,
  type Pool,
  type PoolErrorCode,
} from '../../src/index.js'
import { FakeConnector, type FakeConnection } from '../support/fake-connector.js'

describe('Symbol.asyncDispose', () => {
  it('`await using` releases a lease at the end of its scope', async () => {
    const pool = createPool(new FakeConnector(), { max: 1 })
    {
      await using lease = await pool.acquire()
      expect(lease.isHeld).toBe(true)
      expect(pool.stats().used).toBe(1)
    }
    expect(pool.stats()).toMatchObject({ used: 0, idle: 1 })
    await pool.destroy()
  })

  it('a lease released inside the scope is left alone at its end (no LeaseReleasedError)', async () => {
    const pool = createPool(new FakeConnector(), { max: 1 })
    const outside = await (async () => {
      await using lease = await pool.acquire()
      await lease.release()
      return lease
    })()
    await expect(outside.release()).rejects.toBeInstanceOf(LeaseReleasedError)
    await pool.destroy()
  })

  it('`await using` destroys a pool at the end of its scope', async () => {
    let outside: Pool<FakeConnection> | undefined
    {
      await using pool = createPool(new FakeConnector(), { max: 1 })
      outside = pool
      await pool.use(() => undefined)
    }
    expect(outside?.closed).toBe(true)
    expect(outside?.stats().size).toBe(0)
  })
})

describe('StalledStatementError', () => {
  it('is a PoolError with the stable code STATEMENT_STALLED', () => {
    const error = new StalledStatementError('postgres://app@db:5432/app', 3_000)
    expect(error).toBeInstanceOf(PoolError)
    expect(error.name).toBe('StalledStatementError')
    const code: PoolErrorCode = error.code
    expect(code).toBe('STATEMENT_STALLED')
  })
})
