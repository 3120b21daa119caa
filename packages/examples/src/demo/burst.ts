import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PoolQueueFullError, PoolTimeoutError } from '@kysely-pooled/core'
import { sql, type Kysely } from 'kysely'
import type { ExampleDatabase } from '../shared/databases.js'
import { label, type DemoContext } from './demo-context.js'
import { sleepQuery, type DemoDB } from './schema.js'
import { Gauge } from './terminal.js'
import { formatMillis, since, sleep } from './timing.js'

const USERS = 40
const POOL_MAX = 4

/**
 * Step 3: more simulated users than connections. Callers queue and are
 * served in turn; a live gauge shows the pool. Then the exhaustion policy:
 * a caller that waits and succeeds, one that times out with an error
 * naming the holders, and one turned away at once by `maxWaiting`.
 */
export async function burst(ctx: DemoContext): Promise<void> {
  ctx.term.heading(`3. A burst: ${USERS} simulated users, a pool of ${POOL_MAX}, each request ~10 ms`)
  await ctx.forEachDatabase('burst', (database) => runBurst(ctx, database))
  ctx.term.heading('   When the pool stays full: queue with timeout (max 2, acquireTimeoutMillis 400, maxWaiting 1)')
  await ctx.forEachDatabase('exhaustion policy', (database) => runPolicy(ctx, database))
}

async function runBurst(ctx: DemoContext, database: ExampleDatabase): Promise<void> {
  const durationMillis = ctx.ms(1_500)
  await ctx.withDb(database, 'burst', { max: POOL_MAX, acquireTimeoutMillis: 5_000 }, async ({ db, pool }) => {
    const gauge = new Gauge(ctx.term)
    const rate = new RateMeter()
    const render = (): string => {
      const s = pool.stats()
      return (
        `  ${label(database)}  size ${s.size}/${s.max}  idle ${s.idle}  used ${s.used}  waiting ${String(s.pending).padStart(2)}` +
        `  ${formatRate(rate.perSecond(s.acquires))} q/s` +
        `  wait p50 ${formatMillis(s.waitMillis.p50)}  p99 ${formatMillis(s.waitMillis.p99)}`
      )
    }
    const ticker = setInterval(() => gauge.update(render()), 100)

    const start = performance.now()
    let served = 0
    // Users arrive over the first fifth of the burst, so the queue is seen building up.
    const arrival = durationMillis / 5 / USERS
    const users = Array.from({ length: USERS }, async (_, i) => {
      await sleep(i * arrival)
      while (since(start) < durationMillis) {
        await sleepQuery(database.dialect, 10).execute(db)
        served++
      }
    })
    try {
      await Promise.all(users)
    } finally {
      clearInterval(ticker)
    }
    const s = pool.stats()
    const seconds = since(start) / 1000
    gauge.done(
      `  ${label(database)}  ${served} requests in ${seconds.toFixed(1)} s (${Math.round(served / seconds)}/s) on ${s.created} connections;` +
        ` every caller served, wait p50 ${formatMillis(s.waitMillis.p50)} p99 ${formatMillis(s.waitMillis.p99)}, ${s.timeouts} timeouts`,
    )
  })
}

/** Queries per second over the last second of samples. */
class RateMeter {
  readonly #samples: Array<{ at: number; count: number }> = []

  /** `undefined` until there are two samples to compare. */
  perSecond(count: number): number | undefined {
    const now = performance.now()
    this.#samples.push({ at: now, count })
    while (this.#samples.length > 2 && now - this.#samples[0]!.at > 1_000) this.#samples.shift()
    const first = this.#samples[0]!
    const elapsed = (now - first.at) / 1000
    return elapsed > 0 ? (count - first.count) / elapsed : undefined
  }
}

function formatRate(perSecond: number | undefined): string {
  return (perSecond === undefined ? '…' : String(Math.round(perSecond))).padStart(5)
}

async function runPolicy(ctx: DemoContext, database: ExampleDatabase): Promise<void> {
  const options = {
    max: 2,
    acquireTimeoutMillis: 400,
    maxWaiting: 1,
    // Leak detection records where each lease was taken: the timeout error then says where.
    leakDetectionMillis: 60_000,
  }
  await ctx.withDb(database, 'policy', options, async ({ db, pool }) => {
    const t = ctx.term
    t.line(`  ${t.bold(database.label)}`)

    // Two holders: a transaction someone left open, and a connection held by slow work.
    const forgotten = await db.startTransaction().execute()
    await sql`select 1`.execute(forgotten)
    const slow = holdConnection(db)
    await slow.held

    // 1. A caller that waits and succeeds: the slow holder finishes in 150 ms.
    const waitStart = performance.now()
    const patient = db.selectFrom('kp_demo_users').select('name').limit(1).execute()
    await sleep(150)
    slow.letGo()
    await patient
    t.line(`    waited ${formatMillis(since(waitStart))} for a connection, then ran: ${t.green('served')}`)

    // 2. Both connections busy again; one caller queues, the next finds the queue full.
    const slowAgain = holdConnection(db)
    await slowAgain.held
    const queued = settle(db.selectFrom('kp_demo_users').select('name').execute())
    await waitFor(() => pool.stats().pending === 1)
    const refusedAt = performance.now()
    const refused = await settle(db.selectFrom('kp_demo_users').select('name').execute())
    const refusedAfter = since(refusedAt)
    const timedOut = await queued

    showError(
      ctx,
      `refused at once (${formatMillis(refusedAfter)}), the queue already holds maxWaiting callers:`,
      refused,
      PoolQueueFullError,
    )
    showError(
      ctx,
      'the queued caller gave up after acquireTimeoutMillis, naming who holds the connections:',
      timedOut,
      PoolTimeoutError,
    )

    slowAgain.letGo()
    await forgotten.rollback().execute()
    await slowAgain.done
  })
}

function showError(
  ctx: DemoContext,
  intro: string,
  outcome: Outcome,
  expected: typeof PoolQueueFullError | typeof PoolTimeoutError,
): void {
  const t = ctx.term
  t.line(`    ${intro}`)
  if (outcome.ok) {
    t.line(t.red('      (unexpectedly succeeded)'))
    return
  }
  const error = outcome.error
  const mark = error instanceof expected ? t.yellow(error.name) : t.red(`${error.name} (expected ${expected.name})`)
  const [first, ...rest] = shortenPaths(error.message).split('\n')
  t.line(`      ${mark}: ${first}`)
  for (const line of rest) t.line(`      ${t.dim(line)}`)
}

/** Acquire sites as paths relative to the working directory: shorter lines, same information. */
function shortenPaths(text: string): string {
  return text.replace(/file:\/\/\/[^\s:)]+/g, (url) => relative(process.cwd(), fileURLToPath(url)))
}

type Outcome = { ok: true } | { ok: false; error: Error }

async function settle(promise: Promise<unknown>): Promise<Outcome> {
  try {
    await promise
    return { ok: true }
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) }
  }
}

interface Holder {
  /** Resolves once the connection is held. */
  readonly held: Promise<void>
  letGo(): void
  /** Resolves once the connection is back in the pool. */
  readonly done: Promise<void>
}

/** Borrows a connection through Kysely and keeps it until `letGo()`. */
function holdConnection(db: Kysely<DemoDB>): Holder {
  let letGo!: () => void
  let markHeld!: () => void
  const released = new Promise<void>((resolve) => (letGo = resolve))
  const held = new Promise<void>((resolve) => (markHeld = resolve))
  const done = db.connection().execute(async (connection) => {
    await sql`select 1`.execute(connection)
    markHeld()
    await released
  })
  return { held, letGo, done }
}

async function waitFor(condition: () => boolean, timeoutMillis = 2_000): Promise<void> {
  const start = performance.now()
  while (!condition()) {
    if (since(start) > timeoutMillis) throw new Error('timed out waiting for the pool to reach the expected state')
    await sleep(5)
  }
}
