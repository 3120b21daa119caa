import { testDatabase } from '@kysely-pooled/core/testing'
import fc from 'fast-check'
import { Kysely, sql } from 'kysely'
import { PooledPostgresDialect } from 'kysely-pooled'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { abortSupported, createTestSchema, type TestSchema } from './helpers.js'

/*
 * A property test of pipeline: true on PostgreSQL: random steps, each a batch
 * of operations run at once — single statements, db.connection() sequences,
 * transactions, aborts, failing statements, a statement that kills its own
 * (shared) backend. After every step: no connection came back with a
 * transaction or session state (the pool would have had to roll back or
 * reset it), no backend of ours is left in a transaction, and every write
 * ran exactly once when it succeeded, at most once when it failed.
 */

interface DB {
  prop_item: { id: number }
}

const APP = 'kp_pipeline_property'

type Op =
  | { readonly kind: 'single' }
  | { readonly kind: 'read'; readonly value: number }
  | { readonly kind: 'fail' }
  | { readonly kind: 'sequence'; readonly length: number }
  | { readonly kind: 'transaction'; readonly commit: boolean }
  | { readonly kind: 'abort'; readonly ticks: number }
  | { readonly kind: 'break' }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'single' } as const) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 1_000 }).map((value) => ({ kind: 'read', value }) as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'fail' } as const) },
  { weight: 2, arbitrary: fc.integer({ min: 2, max: 4 }).map((length) => ({ kind: 'sequence', length }) as const) },
  { weight: 2, arbitrary: fc.boolean().map((commit) => ({ kind: 'transaction', commit }) as const) },
  {
    weight: abortSupported ? 2 : 0,
    arbitrary: fc.integer({ min: 0, max: 3 }).map((ticks) => ({ kind: 'abort', ticks }) as const),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'break' } as const) },
)

const BROKEN = /shared \(pipelined\) connection failed|terminating connection|Connection terminated/

describe('pipeline: true, property: hygiene and exactly-once under interleaving', () => {
  let schema: TestSchema
  let dialect: PooledPostgresDialect
  let db: Kysely<DB>
  let observer: pg.Client
  let nextId = 1

  beforeAll(async () => {
    schema = await createTestSchema(testDatabase('postgres'), 'pipeprop')
    const connection = { ...(schema.connection as pg.ClientConfig), application_name: APP }
    // Broken connections are expected here: their reports go nowhere.
    dialect = new PooledPostgresDialect({ connection, pool: { max: 3, log: () => undefined }, pipeline: true })
    db = new Kysely<DB>({ dialect })
    await db.schema.createTable('prop_item').addColumn('id', 'integer').execute()
    observer = new pg.Client(testDatabase('postgres').url)
    await observer.connect()
  })

  afterAll(async () => {
    await observer?.end()
    await db?.destroy()
    await schema?.drop()
  })

  /** Runs one operation; returns the ids it wrote (or tried to) and whether it had to succeed. */
  async function run(operation: Op): Promise<{ ids: number[]; ok: boolean; error?: unknown }> {
    const insert = (executor: Kysely<DB>, id: number) => executor.insertInto('prop_item').values({ id }).execute()
    const ids: number[] = []
    try {
      switch (operation.kind) {
        case 'single': {
          const id = nextId++
          ids.push(id)
          await insert(db, id)
          break
        }
        case 'read': {
          const { rows } = await sql<{ v: number }>`select ${operation.value}::int as v`.execute(db)
          expect(rows).toEqual([{ v: operation.value }])
          break
        }
        case 'fail':
          await sql`select (1 / 0)::int`.execute(db)
          throw new Error('a failing statement succeeded')
        case 'sequence': {
          const pids = await db.connection().execute(async (conn) => {
            const seen: number[] = []
            for (let i = 0; i < operation.length; i++) {
              const id = nextId++
              ids.push(id)
              await insert(conn, id)
              seen.push((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn)).rows[0]!.pid)
            }
            return seen
          })
          // db.connection() keeps one session throughout.
          expect(new Set(pids).size).toBe(1)
          break
        }
        case 'transaction': {
          const id = nextId++
          ids.push(id)
          await db
            .transaction()
            .execute(async (trx) => {
              await insert(trx, id)
              if (!operation.commit) throw new RollBack()
            })
            .catch((error: unknown) => {
              if (!(error instanceof RollBack)) throw error
            })
          break
        }
        case 'abort': {
          const id = nextId++
          ids.push(id)
          const controller = new AbortController()
          const running = db.executeQuery(db.insertInto('prop_item').values({ id }).compile(), {
            signal: controller.signal,
          })
          // It may fail while the ticks pass (a 'break' in the same step ended its shared connection):
          // handled now, awaited below.
          running.catch(() => undefined)
          for (let i = 0; i < operation.ticks; i++) await new Promise((resolve) => setImmediate(resolve))
          controller.abort(new Error('aborted by the property'))
          await running
          break
        }
        case 'break':
          await sql`select pg_terminate_backend(pg_backend_pid())`.execute(db)
          throw new Error('the statement that ends its own session succeeded')
      }
      return { ids, ok: true }
    } catch (error) {
      return { ids, ok: false, error }
    }
  }

  it('holds for random interleavings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 }),
        async (steps) => {
          for (const step of steps) {
            const before = dialect.pool.stats()
            const outcomes = await Promise.all(step.map((operation) => run(operation)))
            const breaks = step.some((operation) => operation.kind === 'break')
            for (const [i, outcome] of outcomes.entries()) {
              const operation = step[i]!
              const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error)
              if (operation.kind === 'fail') {
                expect(message).toMatch(breaks ? /division by zero|shared \(pipelined\)/ : /division by zero/)
              } else if (operation.kind === 'break') {
                expect(message).toMatch(BROKEN)
              } else if (operation.kind === 'abort' && !outcome.ok) {
                expect(message).toMatch(
                  breaks ? /aborted by the property|shared \(pipelined\)/ : /aborted by the property/,
                )
              } else if (!outcome.ok) {
                // Only a broken shared connection may fail an ordinary operation: with a clear error.
                expect(breaks).toBe(true)
                expect(message).toMatch(BROKEN)
              }
              const counts = await countIds(outcome.ids)
              for (const count of counts) {
                if (outcome.ok) expect(count).toBe(operation.kind === 'transaction' && !operation.commit ? 0 : 1)
                else expect(count).toBeLessThanOrEqual(1)
              }
            }
            // Every lease is back, none came back with a transaction or session state.
            await expect.poll(() => dialect.pool.stats().used).toBe(0)
            const after = dialect.pool.stats()
            expect(after.rolledBackOnRelease).toBe(before.rolledBackOnRelease)
            expect(after.resetOnRelease).toBe(before.resetOnRelease)
            const { rows } = await observer.query<{ n: string }>(
              `select count(*) as n from pg_stat_activity where application_name = $1 and state like 'idle in transaction%'`,
              [APP],
            )
            expect(Number(rows[0]!.n)).toBe(0)
          }
        },
      ),
      { numRuns: 25 },
    )
  })

  async function countIds(ids: number[]): Promise<number[]> {
    if (ids.length === 0) return []
    const { rows } = await observer.query<{ id: number; n: string }>(
      `select id, count(*) as n from ${schema.name}.prop_item where id = any($1) group by id`,
      [ids],
    )
    return ids.map((id) => Number(rows.find((row) => row.id === id)?.n ?? 0))
  }
})

class RollBack extends Error {}
