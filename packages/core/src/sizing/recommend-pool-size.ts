import { PoolSizingError } from './pool-sizing-error.js'
import { describeValue } from '../util/describe-value.js'

export { PoolSizingError } from './pool-sizing-error.js'

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
   * Share of the usable connections held back for deploys (old and new
   * processes overlap), scaling out and surprises, from 0 up to (not
   * including) 1. Default 0: put the headroom in `reservedConnections` or here.
   */
  readonly headroomRatio?: number
}

export interface PoolSizeRecommendation {
  /** The `max` option for each process's pool. */
  readonly max: number
  /** Connections the whole application may hold: the server cap minus reserved and headroom. */
  readonly budget: number
  /** What the application holds when every pool is full: `max × processes`. Never above `budget`. */
  readonly total: number
  /** Pools sharing the budget: `processes × hosts`. */
  readonly processes: number
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
 * one. For a server, do the maths from the expected concurrent users (or
 * queries) × processes × machines and aim low — a small pool with a short
 * queue usually serves more requests per second than a big one. When many
 * processes share one database each has its own pool, and those pools
 * *together* must fit in `max_connections` minus what is reserved; that is
 * what this computes:
 *
 *     budget = floor((serverMaxConnections − reservedConnections) × (1 − headroomRatio))
 *     max    = min(floor(budget / (processes × hosts)), concurrentQueries)
 *
 * It throws {@link PoolSizingError} on invalid input and when the budget
 * cannot give each process one connection (then fewer processes, a higher
 * `max_connections`, or a server-side pooler such as PgBouncer is needed).
 */
export function recommendPoolSize(input: PoolSizeInput): PoolSizeRecommendation {
  const problems: string[] = []

  if (input === null || typeof input !== 'object') {
    throw new PoolSizingError([`input must be an object, got ${describeValue(input)}`])
  }

  const integer = (key: keyof PoolSizeInput, value: unknown, min: number): number => {
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

  const headroomRatio = input.headroomRatio ?? 0
  if (typeof headroomRatio !== 'number' || !(headroomRatio >= 0 && headroomRatio < 1)) {
    problems.push(`headroomRatio must be a number from 0 up to (not including) 1, got ${describeValue(headroomRatio)}`)
  }

  if (problems.length > 0) {
    throw new PoolSizingError(problems)
  }

  const processes = perHost * hosts
  const usable = serverMax - reserved
  // Round the headroom up and the budget down: every rounding aims low.
  const headroom = Math.ceil(Math.max(usable, 0) * headroomRatio)
  const budget = usable - headroom

  const lines: string[] = []
  lines.push(`server max_connections          ${pad(serverMax)}`)
  lines.push(`- reserved                      ${pad(reserved)}`)
  if (headroomRatio > 0) {
    lines.push(`- headroom ${pct(headroomRatio)} of ${usable}`.padEnd(32) + pad(headroom))
  }
  lines.push(`= budget for the application    ${pad(budget)}`)

  const pools = `${processes} pool${processes === 1 ? '' : 's'} (${perHost} process${perHost === 1 ? '' : 'es'} × ${hosts} host${hosts === 1 ? '' : 's'})`

  if (budget < processes) {
    throw new PoolSizingError([
      `the budget of ${Math.max(budget, 0)} connection${budget === 1 ? '' : 's'} ` +
        `(max_connections ${serverMax} - reserved ${reserved}${headroom > 0 ? ` - headroom ${headroom}` : ''}) ` +
        `cannot give each of ${pools} one connection; ` +
        'run fewer processes, raise max_connections, or put a server-side pooler (e.g. PgBouncer) in front',
    ])
  }

  const fair = Math.floor(budget / processes)
  lines.push(`÷ ${pools}`)
  lines.push(`= ${fair} per process (floor ${budget} / ${processes})`)

  let max = fair
  if (concurrent !== undefined && concurrent < fair) {
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
    arithmetic: Object.freeze(lines),
  })
}

function pad(n: number): string {
  return String(n).padStart(6)
}

function pct(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10} %`
}
