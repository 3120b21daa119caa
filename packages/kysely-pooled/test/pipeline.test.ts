import { assertAvailable, testTargets } from '@kysely-pooled/core/testing'
import { CompiledQuery, Kysely, sql } from 'kysely'
import { PooledPostgresDialect, PoolTimeoutError } from 'kysely-pooled'
import { Socket } from 'node:net'
import Cursor from 'pg-cursor'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { abortSupported, createTestSchema, isPgBouncer, type TestSchema } from './helpers.js'

/*
 * PooledPostgresDialect({ pipeline: true }): single statements share
 * connections in pg's pipeline mode, on PostgreSQL and through PgBouncer in
 * transaction mode. The rest of the suite runs with pipeline: true too (the
 * `(pipeline)` projects); this file covers what only pipelining has.
 */

interface DB {
  pipe_item: { id: number }
}

const APP = 'kp_pipeline_test'

describe.each(testTargets().filter((target) => target.dialect === 'postgres'))(
  'pipeline: true on $target',
  (database) => {
    let schema: TestSchema
    let dialect: PooledPostgresDialect
    let db: Kysely<DB>
    const bouncer = isPgBouncer(database)

    function pipelineDialect(
      max: number,
      acquireTimeoutMillis = 5_000,
      cursor?: typeof Cursor,
      min = 0,
    ): PooledPostgresDialect {
      const connection =
        typeof schema.connection === 'string'
          ? { connectionString: schema.connection, application_name: APP }
          : { ...schema.connection, application_name: APP }
      return new PooledPostgresDialect({
        connection,
        pool: { max, min, acquireTimeoutMillis },
        pipeline: true,
        pooler: bouncer ? 'transaction' : undefined,
        cursor,
      })
    }

    beforeAll(async () => {
      assertAvailable(database)
      schema = await createTestSchema(database, 'pipeline')
      dialect = pipelineDialect(2)
      db = new Kysely<DB>({ dialect })
      await db.schema.createTable('pipe_item').addColumn('id', 'integer').execute()
    })

    afterAll(async () => {
      await db?.destroy()
      await schema?.drop()
    })

    it('runs many callers’ statements on shared connections, each with its own result, and returns them clean', async () => {
      const before = dialect.pool.stats()
      const results = await Promise.all(
        Array.from({ length: 120 }, (_, i) => sql<{ i: number }>`select ${i}::int as i`.execute(db)),
      )
      expect(results.map((result) => result.rows[0]?.i)).toEqual(Array.from({ length: 120 }, (_, i) => i))
      const after = dialect.pool.stats()
      // Shared: far fewer leases than statements, never more connections than max.
      expect(after.acquires - before.acquires).toBeLessThan(60)
      expect(after.size).toBeLessThanOrEqual(2)
      // The shared leases go back once the tick in which their last statement ended is over.
      await expect.poll(() => dialect.pool.stats().used).toBe(0)
      expect(after.rolledBackOnRelease).toBe(before.rolledBackOnRelease)
      expect(after.resetOnRelease).toBe(before.resetOnRelease)
    })

    it('fails a failed statement alone; its neighbours on the connection succeed', async () => {
      const settled = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          (i % 4 === 1
            ? sql<{ i: number }>`select (1 / 0)::int as i`
            : sql<{ i: number }>`select ${i}::int as i`
          ).execute(db),
        ),
      )
      settled.forEach((outcome, i) => {
        if (i % 4 === 1) {
          expect(outcome).toMatchObject({ status: 'rejected', reason: { message: 'division by zero' } })
        } else {
          expect(outcome).toEqual({ status: 'fulfilled', value: expect.objectContaining({ rows: [{ i }] }) })
        }
      })
      await expect.poll(() => dialect.pool.stats().used).toBe(0)
    })

    it('queues a statement for a lease like any caller: acquireTimeoutMillis holds', async () => {
      const small = new Kysely<DB>({ dialect: pipelineDialect(1, 200) })
      try {
        const holder = await small.startTransaction().execute()
        await expect(sql`select 1`.execute(small)).rejects.toBeInstanceOf(PoolTimeoutError)
        await holder.rollback().execute()
        expect((await sql<{ one: number }>`select 1 as one`.execute(small)).rows).toEqual([{ one: 1 }])
      } finally {
        await small.destroy()
      }
    })

    it('a statement finding every shared connection at the depth cap waits for room, bounded by acquireTimeoutMillis', async () => {
      const small = new Kysely<DB>({ dialect: pipelineDialect(1, 300) })
      try {
        // 16 (the depth cap) in flight on the one connection, the 17th waits for room. Pipelined
        // statements run one after another on the server: the first one's sleep holds all 16.
        const held = Array.from({ length: 16 }, (_, i) =>
          (i === 0 ? sql`select 1 from pg_sleep(0.8)` : sql`select 1`).execute(small),
        )
        await expect(sql`select 1`.execute(small)).rejects.toBeInstanceOf(PoolTimeoutError)
        await Promise.all(held)
        // Room again: a burst larger than the cap is served in turn.
        const burst = await Promise.all(
          Array.from({ length: 40 }, (_, i) => sql<{ i: number }>`select ${i}::int as i`.execute(small)),
        )
        expect(burst.map((result) => result.rows[0]?.i)).toEqual(Array.from({ length: 40 }, (_, i) => i))
      } finally {
        await small.destroy()
      }
    })

    it('binds a transaction, a second statement and a session-changing statement to a connection of their own', async () => {
      const pids = await db.transaction().execute(async (trx) => {
        await trx.insertInto('pipe_item').values({ id: 100 }).execute()
        // Outside the transaction, shared statements do not see its row.
        const outside = await db.selectFrom('pipe_item').where('id', '=', 100).selectAll().execute()
        const inside = await trx.selectFrom('pipe_item').where('id', '=', 100).selectAll().execute()
        return { outside: outside.length, inside: inside.length }
      })
      expect(pids).toEqual({ outside: 0, inside: 1 })
      if (!bouncer) {
        // A SET binds; the pool resets that session on release, shared connections never see it.
        const resets = dialect.pool.stats().resetOnRelease
        await sql`set application_name = 'kp_pipeline_changed'`.execute(db)
        expect(dialect.pool.stats().resetOnRelease).toBe(resets + 1)
        const names = await Promise.all(
          Array.from({ length: 10 }, () =>
            sql<{ name: string }>`select current_setting('application_name') as name`.execute(db),
          ),
        )
        expect(new Set(names.map((result) => result.rows[0]?.name))).toEqual(new Set([APP]))
      }
    })

    if (!bouncer) {
      it('a broken shared connection fails only its statements in flight, with a clear error, and is replaced', async () => {
        // The statement that kills its own backend breaks its shared connection:
        // its neighbours in flight there fail, those on the other connection do not.
        const sleepers = Array.from({ length: 12 }, () =>
          sql<{ pid: number }>`select pg_backend_pid() as pid from pg_sleep(0.2)`.execute(db),
        )
        const killer = sql`select pg_terminate_backend(pg_backend_pid())`.execute(db)
        const outcomes = await Promise.allSettled([...sleepers, killer])
        const failed = outcomes.filter((outcome) => outcome.status === 'rejected')
        const succeeded = outcomes.filter((outcome) => outcome.status === 'fulfilled')
        expect(failed.length).toBeGreaterThan(0)
        expect(succeeded.length).toBeGreaterThan(0)
        for (const outcome of failed) {
          expect((outcome as PromiseRejectedResult).reason.message).toMatch(
            /shared \(pipelined\) connection failed while this statement was in flight; it may or may not have run, and it was not retried/,
          )
        }
        // Replaced: the next statements all run.
        const next = await Promise.all(
          Array.from({ length: 10 }, (_, i) => sql<{ i: number }>`select ${i}::int as i`.execute(db)),
        )
        expect(next.map((result) => result.rows[0]?.i)).toEqual(Array.from({ length: 10 }, (_, i) => i))
        await expect.poll(() => dialect.pool.stats().used).toBe(0)
      })
    }

    if (abortSupported) {
      it('rejects an aborted shared statement at once; no cancel is sent, the statement runs to its end', async () => {
        const controller = new AbortController()
        const order: string[] = []
        // `cancel query` is asked for, but on a shared connection nothing is cancelled.
        const aborted = db
          .executeQuery(CompiledQuery.raw(`insert into pipe_item (id) select 200 from pg_sleep(0.3)`), {
            signal: controller.signal,
            inflightQueryAbortStrategy: 'cancel query',
          })
          .then(
            () => order.push('aborted resolved'),
            (error: Error) => order.push(`aborted rejected: ${error.message}`),
          )
        const neighbour = sql`select 1 from pg_sleep(0.3)`.execute(db).then(() => order.push('neighbour'))
        await expect.poll(() => dialect.pool.stats().used).toBeGreaterThan(0)
        controller.abort(new Error('caller gave up'))
        await Promise.all([aborted, neighbour])
        expect(order).toEqual(['aborted rejected: caller gave up', 'neighbour'])
        // Not cancelled: the insert ran, once.
        await expect
          .poll(async () => (await db.selectFrom('pipe_item').where('id', '=', 200).selectAll().execute()).length)
          .toBe(1)
        await expect.poll(() => dialect.pool.stats().used).toBe(0)
      })
    }

    it('returns every lease when two statements start at once on one db.connection() of a fresh pool', async () => {
      // The first waits for a new lease; Kysely runs the second after it, which claims it.
      const fresh = pipelineDialect(2)
      const racing = new Kysely<DB>({ dialect: fresh })
      try {
        const values = await racing.connection().execute(async (conn) => {
          const [a, b] = await Promise.all([
            sql<{ v: number }>`select 1 as v`.execute(conn),
            sql<{ v: number }>`select 2 as v`.execute(conn),
          ])
          return [a.rows[0]?.v, b.rows[0]?.v]
        })
        expect(values).toEqual([1, 2])
        await expect.poll(() => fresh.pool.stats().used).toBe(0)
      } finally {
        await racing.destroy()
      }
    })

    it('hands a connection back out of pipeline mode: a stream (pg-cursor, refused in pipeline mode) runs on it next', async () => {
      const one = new Kysely<DB>({ dialect: pipelineDialect(1, 5_000, Cursor) })
      try {
        await Promise.all(Array.from({ length: 20 }, (_, i) => sql`select ${i}::int`.execute(one)))
        const streamed: number[] = []
        for await (const row of one.selectNoFrom((eb) => eb.val(7).as('n')).stream()) {
          streamed.push(Number(row.n))
        }
        expect(streamed).toEqual([7])
      } finally {
        await one.destroy()
      }
    })

    it('sends the statements placed on a busy connection in one event-loop turn in one write', async () => {
      const one = pipelineDialect(1)
      const onOne = new Kysely<DB>({ dialect: one })
      const port = Number(new URL(database.url).port || 5432)
      // Counts the writes to the server's port from this process: net.Socket's
      // _write (one chunk) and _writev (the chunks buffered while corked).
      const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => void>
      const original = { _write: proto._write, _writev: proto._writev }
      let writes = 0
      const counting = (method: '_write' | '_writev') =>
        function (this: Socket, ...args: unknown[]) {
          if (this.remotePort === port) writes++
          return original[method].apply(this, args)
        }
      try {
        // The one connection has a statement in flight: the next ones queue behind it anyway.
        const busy = sql`select 1 from pg_sleep(0.2)`.execute(onOne)
        await expect.poll(() => one.pool.stats().used).toBe(1)
        proto._write = counting('_write')
        proto._writev = counting('_writev')
        let results: { rows: { i: number }[] }[]
        try {
          results = await Promise.all(
            Array.from({ length: 10 }, (_, i) => sql<{ i: number }>`select ${i}::int as i`.execute(onOne)),
          )
        } finally {
          Object.assign(proto, original)
        }
        expect(results.map((result) => result.rows[0]?.i)).toEqual(Array.from({ length: 10 }, (_, i) => i))
        // pg writes each statement (Parse … Sync) on its own: ten writes without the turn's cork.
        expect(writes).toBe(1)
        await busy
      } finally {
        await onOne.destroy()
      }
    })

    it('keeps a shared lease for the statements that follow within the event-loop turn, then gives it back', async () => {
      await expect.poll(() => dialect.pool.stats().used).toBe(0)
      const before = dialect.pool.stats().acquires
      // Each statement starts when the previous one's result arrives: in the same turn, as under load.
      for (let i = 0; i < 5; i++) {
        expect((await sql<{ i: number }>`select ${i}::int as i`.execute(db)).rows).toEqual([{ i }])
      }
      expect(dialect.pool.stats().acquires - before).toBe(1)
      // Still lent: `used` counts a shared lease until the turn in which it went quiet is over.
      expect(dialect.pool.stats().used).toBe(1)
      await expect.poll(() => dialect.pool.stats().used).toBe(0)
    })

    if (abortSupported) {
      it('runs a statement text learned to be slow on a connection of its own, where an abort cancels it', async () => {
        const slow = `insert into pipe_item (id) select $1::int from pg_sleep(0.2)`
        // Two runs in a row of 200 ms, shared (the text is new): the dispatcher has learned it is slow.
        await db.executeQuery(CompiledQuery.raw(slow, [300]))
        await db.executeQuery(CompiledQuery.raw(slow, [300]))
        await db.deleteFrom('pipe_item').where('id', '=', 300).execute()
        const acquires = dialect.pool.stats().acquires
        const controller = new AbortController()
        const aborted = db.executeQuery(CompiledQuery.raw(slow, [301]), {
          signal: controller.signal,
          inflightQueryAbortStrategy: 'cancel query',
        })
        await expect.poll(() => dialect.pool.stats().acquires).toBe(acquires + 1)
        // Neighbours meanwhile share another connection: nothing waits behind the slow one.
        const fast = await Promise.all(
          Array.from({ length: 5 }, (_, i) => sql<{ i: number }>`select ${i}::int as i`.execute(db)),
        )
        expect(fast.map((result) => result.rows[0]?.i)).toEqual([0, 1, 2, 3, 4])
        controller.abort(new Error('caller gave up'))
        await expect(aborted).rejects.toThrow('caller gave up')
        // Bound, it was cancelled on the server: the row never appears (a shared statement would run to its end).
        await expect.poll(() => dialect.pool.stats().used).toBe(0)
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pipe_item where id = 301`.execute(db)
        expect(rows).toEqual([{ n: 0 }])
      })
    }

    it('keeps one shared connection for single statements while slow statements wait for the rest', async () => {
      // Both connections open from the start: the first slow statement takes the idle one at once.
      const two = pipelineDialect(2, 5_000, undefined, 2)
      const onTwo = new Kysely<DB>({ dialect: two })
      const slow = sql<{ n: number }>`select 1 as n from pg_sleep(0.3)`
      try {
        // Two slow runs in a row: it binds from now on.
        await slow.execute(onTwo)
        await slow.execute(onTwo)
        let fastDone = 0
        let stop = false
        const fastCaller = (async () => {
          while (!stop) {
            await sql`select 1`.execute(onTwo)
            fastDone++
          }
        })()
        await expect.poll(() => fastDone).toBeGreaterThan(0)
        // The first slow one takes the pool's other connection; the second waits for a connection.
        const first = slow.execute(onTwo)
        await expect.poll(() => two.pool.stats().used).toBe(2)
        const second = slow.execute(onTwo)
        const doneWhenSecondWaits = fastDone
        await first
        // Counted before the shared lease's rotation (1 s after the fast caller took it), which gives way by design.
        const doneWhileSecondWaited = fastDone - doneWhenSecondWaits
        await second
        stop = true
        await fastCaller
        // The shared connection did not make way for it: single statements kept running meanwhile.
        expect(doneWhileSecondWaited).toBeGreaterThan(5)
      } finally {
        await onTwo.destroy()
      }
    })

    it('a transaction waiting for the pool gets a shared connection long before rotation frees one', async () => {
      const two = pipelineDialect(2, 5_000, undefined, 2)
      const onTwo = new Kysely<DB>({ dialect: two })
      const order: string[] = []
      try {
        // One shared connection holds a long statement (new, so shared), the other runs a stream of single statements.
        const long = sql`select 1 from pg_sleep(0.6)`.execute(onTwo).then(() => order.push('long statement'))
        await expect.poll(() => two.pool.stats().used).toBe(1)
        let stop = false
        const callers = Array.from({ length: 3 }, async () => {
          while (!stop) await sql`select 1`.execute(onTwo)
        })
        await expect.poll(() => two.pool.stats().used).toBe(2)
        // Neither shared connection goes quiet on its own before the long statement ends (or rotation, at 1 s).
        await onTwo.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx)
          order.push('transaction')
        })
        stop = true
        await Promise.all([long, ...callers])
        // The connection of the single statements went to the transaction as soon as it was quiet
        // (or drained for it: #makeWay), not when the long statement or a rotation freed one.
        expect(order).toEqual(['transaction', 'long statement'])
      } finally {
        await onTwo.destroy()
      }
    })

    it('refuses pg’s query_timeout, which would destroy a shared connection', () => {
      expect(
        () =>
          new PooledPostgresDialect({
            connection: { connectionString: 'postgres://127.0.0.1/x', query_timeout: 1_000 },
            pipeline: true,
          }),
      ).toThrow(/pipeline: true cannot be combined with the pg query_timeout option/)
    })
  },
)
