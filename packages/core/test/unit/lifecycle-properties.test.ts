import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPool, type Lease } from '../../src/index.js'
import { ConnectionState } from '../../src/pool/connection-state.js'
import { storeOf } from '../../src/pool/pool.js'
import { ConnectError, FakeConnector, type FakeConnection } from '../support/fake-connector.js'

// Random interleavings of everything that can happen to a pool, on the fake
// connector with fake time. The fault model: a connection can break at every
// await point (open, onConnect, ping, rollback, reset, interrupt), cancels
// can land late (after the statement ended, after a hand-over), durations can
// sit at their limit. After every step: the store's lists agree with the
// entries' states, size = idle + used, size + creating <= max, no connection
// held by two live leases, no interrupt reached a statement other than the
// one it was sent for. At the end: destroy() finishes, every acquire has
// settled, every connection is closed and no timer is left.

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
  | { kind: 'statement'; pick: number; finish: boolean }
  | { kind: 'deliver' }
  | { kind: 'breakAt'; point: 'onConnect' | 'opened' | 'reset' | 'interrupt' | 'ping' | 'none' }
  | { kind: 'finishAny'; pick: number }

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
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('statement' as const), pick: fc.nat(), finish: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deliver' as const) }) },
  // A statement ends on its own, whoever holds the connection (e.g. just after its release sent a cancel).
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('finishAny' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('breakAt' as const),
      point: fc.constantFrom(
        'onConnect' as const,
        'opened' as const,
        'reset' as const,
        'interrupt' as const,
        'ping' as const,
        'none' as const,
      ),
    }),
  },
)

const LIMIT = 2 ** 31 - 1
const TAKEN = new Set([ConnectionState.Reserved, ConnectionState.Leased, ConnectionState.Returning])

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

afterEach(() => {
  vi.useRealTimers()
})

describe('the connection lifecycle under random interleavings', () => {
  it('keeps its invariants, lends no connection twice, settles every acquire and always finishes destroy()', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.boolean(),
        async (ops, max, nearLimits, late) => {
          const connector = new FakeConnector()
          connector.lateInterrupts = late
          // Fake time is shared by the runs, and each run leaves none: every run starts from zero.
          expect(vi.getTimerCount()).toBe(0)
          let breakAt: 'onConnect' | 'opened' | 'reset' | 'interrupt' | 'ping' | 'none' = 'none'
          const pool = createPool(connector, {
            max,
            maxWaiting: 4,
            // Near their limit, the durations must still mean what they say (nothing fires early).
            acquireTimeoutMillis: nearLimits ? LIMIT : 500,
            createTimeoutMillis: nearLimits ? LIMIT : 200,
            idleTimeoutMillis: nearLimits ? LIMIT : 300,
            maxLifetimeMillis: nearLimits ? LIMIT : 2_000,
            validateAfterIdleMillis: 100,
            maxLeaseMillis: 1_000,
            cleanupTimeoutMillis: 150,
            reset: 'auto',
            onConnect: (connection) => {
              if (breakAt === 'onConnect') connection.break()
              if (breakAt === 'reset') connection.duringReset = () => connection.break()
            },
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
            // One authority: the lists follow the states.
            const store = storeOf(pool)
            for (const entry of store.idle()) {
              expect(entry.state).toBe(ConnectionState.Idle)
              // A break is accepted in every state: none sits in the idle set.
              expect(entry.isBroken).toBe(false)
            }
            store.taken().forEach((entry, slot) => {
              expect(TAKEN.has(entry.state)).toBe(true)
              expect(entry.slot).toBe(slot)
            })
            expect(stats.creating).toBe(store.openingCount)
            for (const connection of connector.connections) expect(connection.strayInterrupts).toEqual([])
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
                      lease.connection.holder = lease.id
                      // Half the holders start a statement at once: an interrupt sent for an
                      // earlier holder's statement must never reach it.
                      if (lease.id % 2 === 0) lease.connection.startStatement()
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
              case 'statement': {
                const connection = pick(step.pick)?.connection
                if (connection === undefined) break
                if (step.finish) connection.finishQuery()
                else connection.startStatement()
                break
              }
              case 'deliver':
                for (const connection of connector.connections) connection.deliverInterrupts()
                break
              case 'finishAny':
                connector.connections[step.pick % Math.max(1, connector.connections.length)]?.finishQuery()
                break
              case 'breakAt':
                breakAt = step.point
                connector.breakOnListen = step.point === 'opened'
                connector.pingBreaks = step.point === 'ping'
                connector.interruptBreaks = step.point === 'interrupt'
                break
            }
            await vi.advanceTimersByTimeAsync(0)
            check()
            expect(badLends).toEqual([])
          }

          let destroyed = false
          const destroying = pool.destroy({ graceMillis: 100 }).then(() => (destroyed = true))
          // Every wait in destroy() is bounded by an option: ten seconds of fake time is plenty
          // (late cancels are delivered as a server would, eventually).
          for (let i = 0; i < 100 && !destroyed; i++) {
            await vi.advanceTimersByTimeAsync(100)
            for (const connection of connector.connections) connection.deliverInterrupts()
          }
          expect(destroyed).toBe(true)
          await destroying
          let allSettled = false
          void Promise.all(settled).then(() => (allSettled = true))
          await vi.advanceTimersByTimeAsync(0)
          expect(allSettled).toBe(true)
          expect(pool.stats()).toMatchObject({ size: 0, pending: 0 })
          expect(connector.connections.every((connection) => connection.closed)).toBe(true)
          for (const connection of connector.connections) expect(connection.strayInterrupts).toEqual([])
          expect(storeOf(pool).total).toBe(0)
          // Nothing of the pool is left: no timer (the fake clock counts them).
          expect(vi.getTimerCount()).toBe(0)
        },
      ),
      { numRuns: 300 },
    )
  }, 120_000)
})
