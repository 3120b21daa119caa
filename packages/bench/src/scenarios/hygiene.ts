import { createPool, mysqlConnector, postgresConnector, type Connector, type ResetPolicy } from '@kysely-pooled/core'
import mysql from 'mysql2'
import pg from 'pg'
import { collectGarbage, rotate } from '../closed-loop.js'
import type { DatabaseTarget } from '../databases.js'
import { progress } from '../progress.js'
import { POOL_MAX, type BenchSettings, type DatabaseId } from '../settings.js'
import { StatementCounter } from '../statement-counter.js'
import { summarize, type Summary } from '../statistics.js'

export type HygieneMode =
  | `kysely-pooled reset '${ResetPolicy}'`
  | 'naive pool: ROLLBACK on every release'
  | 'PgBouncer-style reset on every release'
  | 'stock pool, no hygiene'

export interface HygieneRow {
  readonly mode: HygieneMode
  /** What the pool sends on release, in the database's words. */
  readonly sends: string
  /** Statements beyond the workload's own, per 10,000 releases (exact, not sampled). */
  readonly extraStatementsPer10k: number
  /** The extra statements by kind, per 10,000 releases. */
  readonly extraByKind: Record<string, number>
  /** Microseconds per acquire + `select 1` + release, sequential; one sample per round. */
  readonly microsPerCycle: Summary
  /** Node CPU microseconds per cycle (user + system); one sample per round. */
  readonly cpuMicrosPerCycle: Summary
  /** Per round: CPU per cycle over the stock pool's (no hygiene) in the same round. */
  readonly cpuRatioToStock: Summary
  /** Per round: wall time per cycle over the stock pool's in the same round. */
  readonly ratioToStock: Summary
}

export interface HygieneResult {
  readonly database: DatabaseId
  readonly releasesPerRun: number
  readonly rows: readonly HygieneRow[]
}

/** One pool under test: `cycle` runs acquire, `select 1`, release. */
interface HygieneSubject {
  cycle(): Promise<void>
  destroy(): Promise<void>
}

interface HygieneContender {
  readonly mode: HygieneMode
  sends(database: DatabaseId): string
  open(target: DatabaseTarget, counter: StatementCounter): HygieneSubject
}

/**
 * Statements sent per release on clean connections — a connection that ran
 * `select 1` and nothing else. Counted at the driver's protocol layer, so
 * nothing a pool sends can hide. The workload's own `select 1` is
 * subtracted; what is left is the hygiene cost.
 */
export async function measureHygiene(target: DatabaseTarget, settings: BenchSettings): Promise<HygieneResult> {
  const releases = settings.hygieneReleases
  const rounds = settings.rounds
  const extras = new Map<HygieneMode, { count: number; byKind: Record<string, number> }>()
  const times = new Map<HygieneMode, number[]>()
  const cpuTimes = new Map<HygieneMode, number[]>()
  for (let round = 0; round < rounds; round++) {
    const line: string[] = []
    for (const contender of rotate(CONTENDERS, round)) {
      const counter = new StatementCounter()
      const subject = contender.open(target, counter)
      try {
        // Open the connection, let any connect-time setup finish uncounted, and
        // warm the JIT: a cold first run would cost whichever pool goes first.
        for (let i = 0; i < Math.max(200, releases / 10); i++) await subject.cycle()
        counter.reset()
        collectGarbage()
        const cpuBefore = process.cpuUsage()
        const start = performance.now()
        for (let i = 0; i < releases; i++) {
          await subject.cycle()
        }
        const micros = ((performance.now() - start) * 1000) / releases
        const cpu = process.cpuUsage(cpuBefore)
        const cpuMicros = (cpu.user + cpu.system) / releases
        const byKind = counter.byKind()
        // The workload's own statement is `select 1`, once per cycle.
        for (const kind of Object.keys(byKind)) {
          if (kind === 'query:select 1' || kind === 'execute') {
            byKind[kind] = byKind[kind]! - releases
            if (byKind[kind] === 0) delete byKind[kind]
          }
        }
        extras.set(contender.mode, { count: counter.count - releases, byKind })
        times.set(contender.mode, [...(times.get(contender.mode) ?? []), micros])
        cpuTimes.set(contender.mode, [...(cpuTimes.get(contender.mode) ?? []), cpuMicros])
        line.push(
          `${contender.mode}: +${counter.count - releases}, ${micros.toFixed(0)} µs (CPU ${cpuMicros.toFixed(0)})`,
        )
      } finally {
        await subject.destroy()
      }
    }
    progress(`${target.label} hygiene round ${round + 1}/${rounds} (${releases} releases each): ${line.join('; ')}`)
  }
  const per10k = (n: number) => (n * 10_000) / releases
  const perRound = (samples: Map<HygieneMode, number[]>, mode: HygieneMode): Summary => {
    const stock = samples.get(STOCK) ?? []
    return summarize((samples.get(mode) ?? []).map((value, round) => value / (stock[round] ?? Number.NaN)))
  }
  return {
    database: target.id,
    releasesPerRun: releases,
    rows: CONTENDERS.map((contender): HygieneRow => {
      const extra = extras.get(contender.mode) ?? { count: Number.NaN, byKind: {} }
      return {
        mode: contender.mode,
        sends: contender.sends(target.id),
        extraStatementsPer10k: per10k(extra.count),
        extraByKind: Object.fromEntries(Object.entries(extra.byKind).map(([kind, n]) => [kind, per10k(n)])),
        microsPerCycle: summarize(times.get(contender.mode) ?? []),
        cpuMicrosPerCycle: summarize(cpuTimes.get(contender.mode) ?? []),
        cpuRatioToStock: perRound(cpuTimes, contender.mode),
        ratioToStock: perRound(times, contender.mode),
      }
    }),
  }
}

function ours(reset: ResetPolicy): HygieneContender {
  return {
    mode: `kysely-pooled reset '${reset}'`,
    sends: (database) =>
      reset === 'always'
        ? database === 'postgres'
          ? 'session reset on every release (DISCARD ALL)'
          : 'COM_RESET_CONNECTION on every release'
        : reset === 'auto'
          ? 'nothing when clean; rollback / session reset only when dirty'
          : 'nothing when clean; rollback only in a transaction, never a session reset',
    open(target, counter) {
      const base =
        target.id === 'postgres'
          ? (postgresConnector(target.url) as Connector<unknown>)
          : (mysqlConnector(target.url) as Connector<unknown>)
      const watch = (connection: unknown) =>
        target.id === 'postgres'
          ? counter.watchPostgres(connection as pg.Client)
          : counter.watchMysql(connection as mysql.Connection)
      const pool = createPool(countingConnector(base, watch), { max: POOL_MAX, reset, name: `bench-hygiene-${reset}` })
      const select: (connection: unknown) => Promise<unknown> =
        target.id === 'postgres'
          ? (connection) => (connection as pg.Client).query('select 1')
          : (connection) => mysqlSelectOne(connection as mysql.Connection)
      return {
        cycle: () => pool.use(select).then(() => undefined),
        destroy: () => pool.destroy(),
      }
    },
  }
}

type ReleaseStatement = 'none' | 'rollback' | 'reset'

/** pg.Pool or the mysql2 pool, sending `statement` before every release. */
function driverPool(
  mode: HygieneMode,
  statement: ReleaseStatement,
  sends: (database: DatabaseId) => string,
): HygieneContender {
  return {
    mode,
    sends,
    open(target, counter) {
      if (target.id === 'postgres') {
        const pool = new pg.Pool({ connectionString: target.url, max: POOL_MAX })
        pool.on('connect', (client) => counter.watchPostgres(client))
        const sql = statement === 'rollback' ? 'ROLLBACK' : 'DISCARD ALL'
        return {
          async cycle() {
            const client = await pool.connect()
            try {
              await client.query('select 1')
              if (statement !== 'none') await client.query(sql)
            } finally {
              client.release()
            }
          },
          destroy: () => pool.end(),
        }
      }
      const pool = mysql.createPool({ uri: target.url, connectionLimit: POOL_MAX })
      pool.on('connection', (connection) => counter.watchMysql(connection))
      return {
        async cycle() {
          const connection = await new Promise<mysql.PoolConnection>((resolve, reject) =>
            pool.getConnection((error, c) => (error ? reject(error) : resolve(c))),
          )
          try {
            await mysqlSelectOne(connection)
            if (statement === 'rollback') {
              await new Promise<void>((resolve, reject) =>
                connection.query('ROLLBACK', (error) => (error ? reject(error) : resolve())),
              )
            } else if (statement === 'reset') {
              await new Promise<void>((resolve, reject) =>
                connection.reset((error) => (error ? reject(error) : resolve())),
              )
            }
          } finally {
            connection.release()
          }
        },
        destroy: () => new Promise<void>((resolve) => pool.end(() => resolve())),
      }
    },
  }
}

const STOCK: HygieneMode = 'stock pool, no hygiene'

const CONTENDERS: readonly HygieneContender[] = [
  ours('auto'),
  ours('always'),
  ours('never'),
  driverPool('naive pool: ROLLBACK on every release', 'rollback', () => 'ROLLBACK on every release'),
  driverPool('PgBouncer-style reset on every release', 'reset', (database) =>
    database === 'postgres' ? 'DISCARD ALL on every release' : 'COM_RESET_CONNECTION on every release',
  ),
  driverPool(STOCK, 'none', () => 'nothing, ever (dirty connections are reused as they are)'),
]

/** The connector with `connect` instrumented: each new connection is watched; the handle is the connector's own. */
function countingConnector<C>(connector: Connector<C>, watch: (connection: C) => void): Connector<C> {
  return {
    dialect: connector.dialect,
    target: connector.target,
    connect: async (options) => {
      const handle = await connector.connect(options)
      watch(handle.client)
      return handle
    },
    classifyConnectFailure: (error) => connector.classifyConnectFailure(error),
  }
}

function mysqlSelectOne(connection: mysql.Connection): Promise<void> {
  return new Promise((resolve, reject) => connection.query('select 1', (error) => (error ? reject(error) : resolve())))
}
