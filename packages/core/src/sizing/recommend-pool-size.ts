import { PoolSizingError } from './pool-sizing-error.js'
import { describeValue } from '../util/describe-value.js'
import { serverSidePoolerAdvice, type SizingDatabase } from './server-side-pooler.js'

export { PoolSizingError } from './pool-sizing-error.js'
export type { SizingDatabase } from './server-side-pooler.js'

/**
 * The share of a connection budget held back by default, for deploys (old
 * and new processes overlap), scaling out and surprises. `recommendPoolSize`
 * and `kysely-pooled doctor` both use it, so they agree on the same inputs.
 */
export const DEFAULT_HEADROOM_RATIO = 0.1

/** PgBouncer's own default `max_client_conn`. */
export const PGBOUNCER_DEFAULT_MAX_CLIENT_CONN = 100

/** A transaction-mode pooler (PgBouncer, Supavisor, RDS Proxy…) between the processes and PostgreSQL. */
export interface PoolerSizeInput {
  /**
   * Server connections the pooler opens per database/user pair: PgBouncer's
   * `default_pool_size` (or `max_db_connections`). With several pairs, pass
   * their sum.
   */
  readonly poolSize: number
  /** Client connections the pooler accepts: PgBouncer's `max_client_conn`. Default 100, PgBouncer's default. */
  readonly maxClientConnections?: number
}

export interface PoolSizeInput {
  /** The server's connection cap: PostgreSQL/MySQL `max_connections`. */
  readonly serverMaxConnections: number
  /**
   * Connections this application must leave to others: PostgreSQL's
   * `superuser_reserved_connections` (+ `reserved_connections`), other
   * applications, migrations, an admin's psql session. Default 0.
   */
  readonly reservedConnections?: number
  /** Processes per host that each run their own pool (cluster workers, containers). Default 1. */
  readonly processes?: number
  /** Hosts (machines, pods) running those processes. Default 1. */
  readonly hosts?: number
  /**
   * Expected peak of queries running at the same time in one process. When
   * given, `max` never exceeds it: a connection nobody uses still costs the
   * server memory.
   */
  readonly concurrentQueries?: number
  /**
   * Share of each budget held back for deploys, scaling out and surprises,
   * from 0 up to (not including) 1. Default {@link DEFAULT_HEADROOM_RATIO}
   * (10 %); pass 0 when `reservedConnections` already holds the headroom.
   */
  readonly headroomRatio?: number
  /** Which server: names the right server-side pooler in advice. */
  readonly database?: SizingDatabase
  /** PostgreSQL behind a transaction-mode pooler: size the two budgets it splits. */
  readonly pooler?: PoolerSizeInput
}

/** The two budgets behind a transaction-mode pooler. */
export interface PoolerSizeRecommendation {
  /** Server connections the application may use: `max_connections` minus reserved and headroom. */
  readonly serverBudget: number
  /** The pooler's server connections (`default_pool_size`), never above `serverBudget`. */
  readonly poolSize: number
  /** Client connections the pooler accepts (`max_client_conn`). */
  readonly maxClientConnections: number
}

export interface PoolSizeRecommendation {
  /** The `max` option for each process's pool. */
  readonly max: number
  /**
   * Connections the application's pools may hold together: the server cap
   * minus reserved and headroom, or behind a pooler its `max_client_conn`
   * minus headroom.
   */
  readonly budget: number
  /** What the application holds when every pool is full: `max × processes`. Never above `budget`. */
  readonly total: number
  /** Pools sharing the budget: `processes × hosts`. */
  readonly processes: number
  /** Behind a transaction-mode pooler: the server side of the arithmetic. */
  readonly pooler?: PoolerSizeRecommendation
  /** The maths, one printable line per step. */
  readonly arithmetic: readonly string[]
}

/**
 * The per-process `max` that keeps every pool of an application, together,
 * inside the server's connection limit.
 *
 * Every open connection costs the server memory (a PostgreSQL backend is a
 * whole process) and the server caps how many it accepts, so start with as
 * few connections as possible: a command-line tool or a script needs exactly
 * one. For a server, do the maths from the expected concurrent queries ×
 * processes × machines and aim low. When many processes share one database
 * each has its own pool, and those pools *together* must fit:
 *
 *     budget = floor((serverMaxConnections − reservedConnections) × (1 − headroomRatio))
 *     max    = min(floor(budget / (processes × hosts)), concurrentQueries)
 *
 * Behind a transaction-mode pooler (`pooler`) there are two budgets. Server
 * side, the pooler's `poolSize` must fit in the budget above. Client side,
 * the pools together must fit the pooler's `max_client_conn`:
 *
 *     budget = floor(maxClientConnections × (1 − headroomRatio))
 *     max    = min(floor(budget / (processes × hosts)), poolSize, concurrentQueries)
 *
 * It throws {@link PoolSizingError} on invalid input and when a budget
 * cannot give each process one connection.
 */
export function recommendPoolSize(input: PoolSizeInput): PoolSizeRecommendation {
  if (input === null || typeof input !== 'object') {
    throw new PoolSizingError([`input must be an object, got ${describeValue(input)}`])
  }
  const problems: string[] = []
  const integer = (key: string, value: unknown, min: number): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      problems.push(`${key} must be an integer >= ${min}, got ${describeValue(value)}`)
      return min
    }
    return value
  }

  const serverMax = integer('serverMaxConnections', input.serverMaxConnections, 1)
  const reserved = integer('reservedConnections', input.reservedConnections ?? 0, 0)
  const perHost = integer('processes', input.processes ?? 1, 1)
  const hosts = integer('hosts', input.hosts ?? 1, 1)
  const concurrent =
    input.concurrentQueries === undefined ? undefined : integer('concurrentQueries', input.concurrentQueries, 1)
  const headroomRatio = input.headroomRatio ?? DEFAULT_HEADROOM_RATIO
  if (typeof headroomRatio !== 'number' || !(headroomRatio >= 0 && headroomRatio < 1)) {
    problems.push(`headroomRatio must be a number from 0 up to (not including) 1, got ${describeValue(headroomRatio)}`)
  }
  const database = input.database
  if (database !== undefined && database !== 'postgres' && database !== 'mysql') {
    problems.push(`database must be 'postgres' or 'mysql', got ${describeValue(database)}`)
  }
  let pooler: { poolSize: number; maxClientConnections: number } | undefined
  if (input.pooler !== undefined) {
    if (input.pooler === null || typeof input.pooler !== 'object') {
      problems.push(`pooler must be an object, got ${describeValue(input.pooler)}`)
    } else {
      pooler = {
        poolSize: integer('pooler.poolSize', input.pooler.poolSize, 1),
        maxClientConnections: integer(
          'pooler.maxClientConnections',
          input.pooler.maxClientConnections ?? PGBOUNCER_DEFAULT_MAX_CLIENT_CONN,
          1,
        ),
      }
      if (database === 'mysql') {
        problems.push(
          'pooler sizing is for a PostgreSQL transaction pooler (PgBouncer); for MySQL/MariaDB, ProxySQL multiplexes instead',
        )
      }
    }
  }
  if (problems.length > 0) {
    throw new PoolSizingError(problems)
  }

  const processes = perHost * hosts
  const pools = `${processes} pool${plural(processes)} (${perHost} process${perHost === 1 ? '' : 'es'} × ${hosts} host${plural(hosts)})`
  const lines: string[] = []
  const server = budgetOf(serverMax, reserved, headroomRatio)
  if (pooler !== undefined) {
    lines.push('server side (the pooler → the server):')
  }
  lines.push(`server max_connections          ${pad(serverMax)}`)
  lines.push(`- reserved                      ${pad(reserved)}`)
  if (headroomRatio > 0) {
    lines.push(`- headroom ${pct(headroomRatio)} of ${server.usable}`.padEnd(32) + pad(server.headroom))
  }
  const serverDetail = `max_connections ${serverMax} - reserved ${reserved}${server.headroom > 0 ? ` - headroom ${server.headroom}` : ''}`

  if (pooler === undefined) {
    lines.push(`= budget for the application    ${pad(server.budget)}`)
    if (server.budget < processes) {
      throw new PoolSizingError([
        `the budget of ${Math.max(server.budget, 0)} connection${plural(server.budget)} (${serverDetail}) ` +
          `cannot give each of ${pools} one connection; run fewer processes, raise max_connections, ` +
          `or ${serverSidePoolerAdvice(database)}`,
      ])
    }
    return share(server.budget, processes, pools, concurrent, undefined, lines, undefined)
  }

  lines.push(`= budget for the server side    ${pad(server.budget)}`)
  if (pooler.poolSize > server.budget) {
    throw new PoolSizingError([
      `the pooler's pool size ${pooler.poolSize} (default_pool_size, per database/user pair) is above the server budget ` +
        `of ${Math.max(server.budget, 0)} (${serverDetail}); lower default_pool_size or raise max_connections`,
    ])
  }
  lines.push(
    `pooler pool size ${pooler.poolSize} <= ${server.budget}: every transaction runs on one of ${pooler.poolSize} server connections`,
  )
  lines.push('client side (your processes → the pooler):')
  const client = budgetOf(pooler.maxClientConnections, 0, headroomRatio)
  lines.push(`pooler max_client_conn          ${pad(pooler.maxClientConnections)}`)
  if (headroomRatio > 0) {
    lines.push(`- headroom ${pct(headroomRatio)} of ${client.usable}`.padEnd(32) + pad(client.headroom))
  }
  lines.push(`= budget for the clients        ${pad(client.budget)}`)
  if (client.budget < processes) {
    throw new PoolSizingError([
      `the client budget of ${client.budget} connection${plural(client.budget)} (max_client_conn ${pooler.maxClientConnections}` +
        `${client.headroom > 0 ? ` - headroom ${client.headroom}` : ''}) cannot give each of ${pools} one connection; ` +
        'raise max_client_conn (client connections are cheap for the pooler) or run fewer processes',
    ])
  }
  const summary: PoolerSizeRecommendation = Object.freeze({
    serverBudget: server.budget,
    poolSize: pooler.poolSize,
    maxClientConnections: pooler.maxClientConnections,
  })
  return share(client.budget, processes, pools, concurrent, pooler.poolSize, lines, summary)
}

/** Splits a budget between the pools and applies the caps; the last lines of the arithmetic. */
function share(
  budget: number,
  processes: number,
  pools: string,
  concurrent: number | undefined,
  poolSize: number | undefined,
  lines: string[],
  pooler: PoolerSizeRecommendation | undefined,
): PoolSizeRecommendation {
  const fair = Math.floor(budget / processes)
  lines.push(`÷ ${pools}`)
  lines.push(`= ${fair} per process (floor ${budget} / ${processes})`)
  let max = fair
  if (poolSize !== undefined && poolSize < max) {
    max = poolSize
    // A process never runs more transactions at once than there are server connections.
    lines.push(`capped at the pooler's pool size ${poolSize}: more would only queue in the pooler`)
  }
  if (concurrent !== undefined && concurrent < max) {
    max = concurrent
    lines.push(`capped at ${concurrent} expected concurrent queries per process (aim low)`)
  }
  const total = max * processes
  lines.push(`max ${max} per process; all pools full: ${max} × ${processes} = ${total} <= budget ${budget}`)
  return Object.freeze({
    max,
    budget,
    total,
    processes,
    ...(pooler === undefined ? {} : { pooler }),
    arithmetic: Object.freeze(lines),
  })
}

/** Rounds the headroom up and the budget down: every rounding aims low. */
function budgetOf(cap: number, reserved: number, headroomRatio: number) {
  const usable = cap - reserved
  const headroom = Math.ceil(Math.max(usable, 0) * headroomRatio)
  return { usable, headroom, budget: usable - headroom }
}

function plural(n: number): string {
  return n === 1 ? '' : 's'
}

function pad(n: number): string {
  return String(n).padStart(6)
}

function pct(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10} %`
}
