/** An option name another pool uses, and what it is here. */
interface ForeignOption {
  /** Whose name it is, for the message: `mysql2's`. */
  readonly from: string
  /** Our option, when there is one. */
  readonly ours?: string
  /** What else the user must know (a different unit or meaning), or why there is no equivalent. */
  readonly note?: string
}

const PG_POOL = "pg-pool's"
const MYSQL2 = "mysql2's"
const TARN = "tarn's"
const HIKARI = "HikariCP's"
const GENERIC_POOL = "generic-pool's"

// Keys are lower case: users bring the names with their own casing mistakes.
// Names that are the same here (pg-pool's max, min, idleTimeoutMillis; tarn's
// acquireTimeoutMillis, createTimeoutMillis) need no entry.
const FOREIGN_OPTIONS: ReadonlyMap<string, ForeignOption> = new Map<string, ForeignOption>([
  // pg-pool
  [
    'connectiontimeoutmillis',
    { from: PG_POOL, ours: 'acquireTimeoutMillis', note: 'one connection attempt is bounded by "createTimeoutMillis"' },
  ],
  ['maxlifetimeseconds', { from: PG_POOL, ours: 'maxLifetimeMillis', note: 'in milliseconds' }],
  // mysql2
  ['connectionlimit', { from: MYSQL2, ours: 'max' }],
  [
    'queuelimit',
    { from: MYSQL2, ours: 'maxWaiting', note: '0 means fail fast here, not unlimited; use Infinity for no limit' },
  ],
  ['waitforconnections', { from: MYSQL2, ours: 'maxWaiting', note: 'waitForConnections: false is maxWaiting: 0' }],
  ['idletimeout', { from: `${MYSQL2} and ${HIKARI}`, ours: 'idleTimeoutMillis' }],
  ['maxidle', { from: MYSQL2, note: 'idle connections above "min" are closed after "idleTimeoutMillis"' }],
  [
    'enablekeepalive',
    { from: MYSQL2, note: 'a connection option: pass it in the connection config, not in the pool options' },
  ],
  [
    'keepaliveinitialdelay',
    { from: MYSQL2, note: 'a connection option: pass it in the connection config, not in the pool options' },
  ],
  ['connecttimeout', { from: MYSQL2, ours: 'createTimeoutMillis' }],
  // tarn
  [
    'propagatecreateerror',
    {
      from: TARN,
      note: 'waiting callers fail at once with PoolConnectError when the server can never accept; transient failures are retried',
    },
  ],
  ['createretryintervalmillis', { from: TARN, note: 'failed connection attempts are retried with a backoff' }],
  ['reapintervalmillis', { from: TARN, note: 'idle connections are reaped by "idleTimeoutMillis"' }],
  ['destroytimeoutmillis', { from: TARN, note: 'closing a connection is bounded by the connector' }],
  // HikariCP
  ['maximumpoolsize', { from: HIKARI, ours: 'max' }],
  ['minimumidle', { from: HIKARI, ours: 'min' }],
  ['connectiontimeout', { from: HIKARI, ours: 'acquireTimeoutMillis' }],
  ['maxlifetime', { from: HIKARI, ours: 'maxLifetimeMillis' }],
  ['leakdetectionthreshold', { from: HIKARI, ours: 'leakDetectionMillis' }],
  [
    'keepalivetime',
    {
      from: HIKARI,
      ours: 'validateAfterIdleMillis',
      note: 'an idle connection is pinged before it is handed out, not on a timer',
    },
  ],
  [
    'validationtimeout',
    { from: HIKARI, note: 'the ping of an idle connection ("validateAfterIdleMillis") has no separate timeout' },
  ],
  ['poolname', { from: HIKARI, ours: 'name' }],
  // generic-pool (knex before tarn)
  ['maxwaitingclients', { from: GENERIC_POOL, ours: 'maxWaiting' }],
  ['testonborrow', { from: GENERIC_POOL, ours: 'validateAfterIdleMillis' }],
])

/**
 * The hint for an unknown option name, as text to append to the problem
 * (`''` when there is none): another pool's name for one of ours
 * (`(mysql2's "connectionLimit" is "max" here)`), or the closest of `known`
 * by edit distance (`(did you mean "maxLifetimeMillis"?)`).
 */
export function suggestOption(key: string, known: Iterable<string>): string {
  const knownKeys = [...known]
  const foreign = FOREIGN_OPTIONS.get(key.toLowerCase())
  if (foreign !== undefined && (foreign.ours === undefined || knownKeys.includes(foreign.ours))) {
    const note = foreign.note === undefined ? '' : `; ${foreign.note}`
    return foreign.ours === undefined
      ? ` (${foreign.from} "${key}" has no equivalent here${note})`
      : ` (${foreign.from} "${key}" is "${foreign.ours}" here${note})`
  }
  const closest = closestOption(key, knownKeys)
  return closest === undefined ? '' : ` (did you mean "${closest}"?)`
}

/**
 * The known name closest to `key`: the same apart from case or a unit suffix
 * (`maxLifetime` → `maxLifetimeMillis`), else the one within a few edits.
 * Never a mere prefix: `maxLifetime` is not `max`.
 */
export function closestOption(key: string, known: readonly string[]): string | undefined {
  const stem = withoutUnit(key)
  if (stem.length === 0) {
    return undefined
  }
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const candidateStem = withoutUnit(candidate)
    if (candidateStem === stem) {
      return candidate
    }
    const distance = editDistance(stem, candidateStem)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  // A third of the name may be wrong, at least one edit and at most three.
  const allowed = Math.min(3, Math.max(1, Math.floor(stem.length / 3)))
  return bestDistance <= allowed ? best : undefined
}

function withoutUnit(name: string): string {
  return name
    .toLowerCase()
    .replace(/[-_\s]/g, '')
    .replace(/(?:milliseconds|millis|ms)$/, '')
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array<number>(rows * cols).fill(0)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, d[(i - 2) * cols + j - 2]! + 1)
      }
      d[i * cols + j] = value
    }
  }
  return d[rows * cols - 1]!
}
