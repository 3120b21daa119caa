import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPool, type Lease } from '../../src/index.js'
import { ConnectError, FakeConnector, type FakeConnection } from '../support/fake-connector.js'

// Random interleavings of everything that can happen to a pool, on the fake
// connector with fake time. After every step: size = idle + used,
// size + creating <= max, no connection held by two live leases. At the
// end: destroy() finishes and every acquire has settled.

type Op =
  | { kind: 'acquire'; abortAfter: number | undefined }
  | { kind: 'release'; pick: number }
  | { kind: 'destroyLease'; pick: number }
  | { kind: 'dirty'; pick: number; state: 'in-transaction' | 'failed' | 'busy' | 'session' | 'breaks-during-rollback' }
  | { kind: 'break'; pick: number }
  | { kind: 'interrupt'; pick: number; scope: 'query' | 'session' }
  | { kind: 'connectFails'; fatal: boolean }
  | { kind: 'connectWorks' }
  | { kind: 'pingFails'; hang: boolean }
  | { kind: 'advance'; millis: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('acquire' as const),
      abortAfter: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('destroyLease' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('dirty' as const),
      pick: fc.nat(),
      state: fc.constantFrom(
        'in-transaction' as const,
        'failed' as const,
        'busy' as const,
        'session' as const,
        'breaks-during-rollback' as const,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('break' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('interrupt' as const),
      pick: fc.nat(),
      scope: fc.constantFrom('query' as const, 'session' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('connectFails' as const), fatal: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('connectWorks' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pingFails' as const), hang: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), millis: fc.integer({ min: 0, max: 700 }) }),
  },
)

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'performance', 'Date'],
  })
})

afterEach(() => {
  vi.useRealTimers()
})

describe('the connection lifecycle under random interleavings', () => {
  it('keeps its invariants, lends no connection twice, settles every acquire and always finishes destroy()', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        async (ops, max) => {
          const connector = new FakeConnector()
          const pool = createPool(connector, {
            max,
            maxWaiting: 4,
            acquireTimeoutMillis: 500,
            createTimeoutMillis: 200,
            validateAfterIdleMillis: 100,
            maxLeaseMillis: 1_000,
            cleanupTimeoutMillis: 150,
            log: () => {},
          })
          const held: Lease<FakeConnection>[] = []
          // Connections found broken or closed at the moment they were lent.
          const badLends: number[] = []
          const settled: Promise<unknown>[] = []

          const check = (): void => {
            const stats = pool.stats()
            expect(stats.size).toBe(stats.idle + stats.used)
            expect(stats.size + stats.creating).toBeLessThanOrEqual(max)
            const live = held.filter((lease) => lease.isHeld).map((lease) => lease.connection)
            expect(new Set(live).size).toBe(live.length)
            for (const connection of live) {
              expect(connection.closed).toBe(false)
            }
          }
          const pick = (n: number): Lease<FakeConnection> | undefined => {
            const live = held.filter((lease) => lease.isHeld)
            return live.length === 0 ? undefined : live[n % live.length]
          }

          for (const step of ops) {
            switch (step.kind) {
              case 'acquire': {
                const signal = step.abortAfter === undefined ? undefined : AbortSignal.timeout(step.abortAfter)
                settled.push(
                  pool.acquire(signal ? { signal } : undefined).then(
                    (lease) => {
                      if (lease.connection.broken || lease.connection.closed) badLends.push(lease.connection.id)
                      held.push(lease)
                    },
                    () => undefined,
                  ),
                )
                break
              }
              case 'release':
                settled.push(
                  pick(step.pick)
                    ?.release()
                    .catch(() => undefined) ?? Promise.resolve(),
                )
                break
              case 'destroyLease':
                settled.push(
                  pick(step.pick)
                    ?.destroy()
                    .catch(() => undefined) ?? Promise.resolve(),
                )
                break
              case 'dirty': {
                const connection = pick(step.pick)?.connection
                if (connection === undefined) break
                if (step.state === 'busy') {
                  connection.busy = true
                  connection.ignoreCancel = step.pick % 2 === 0
                } else if (step.state === 'session') {
                  connection.sessionChanged = true
                } else if (step.state === 'breaks-during-rollback') {
                  connection.transaction = 'in-transaction'
                  connection.duringRollback = () => connection.break()
                } else {
                  connection.transaction = step.state
                }
                break
              }
              case 'break': {
                const all = connector.connections.filter((connection) => !connection.closed)
                all[step.pick % Math.max(1, all.length)]?.break()
                break
              }
              case 'interrupt': {
                const lease = pick(step.pick)
                if (lease !== undefined) settled.push(lease.interrupt(step.scope))
                break
              }
              case 'connectFails':
                connector.failAlways = new ConnectError('refused', step.fatal ? 'fatal' : 'transient')
                break
              case 'connectWorks':
                connector.failAlways = undefined
                break
              case 'pingFails':
                connector.pingFails = !step.hang
                connector.pingHangs = step.hang
                break
              case 'advance':
                await vi.advanceTimersByTimeAsync(step.millis)
                break
            }
            await vi.advanceTimersByTimeAsync(0)
            check()
            expect(badLends).toEqual([])
          }

          let destroyed = false
          const destroying = pool.destroy({ graceMillis: 100 }).then(() => (destroyed = true))
          // Every wait in destroy() is bounded by an option: ten seconds of fake time is plenty.
          await vi.advanceTimersByTimeAsync(10_000)
          expect(destroyed).toBe(true)
          await destroying
          let allSettled = false
          void Promise.all(settled).then(() => (allSettled = true))
          await vi.advanceTimersByTimeAsync(0)
          expect(allSettled).toBe(true)
          expect(pool.stats()).toMatchObject({ size: 0, pending: 0 })
          expect(connector.connections.every((connection) => connection.closed)).toBe(true)
        },
      ),
      { numRuns: 300 },
    )
  }, 120_000)
})
