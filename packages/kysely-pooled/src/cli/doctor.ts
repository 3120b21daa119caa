import { parseArgs } from 'node:util'
import {
  DEFAULT_HEADROOM_RATIO,
  PGBOUNCER_DEFAULT_MAX_CLIENT_CONN,
  PoolSizingError,
  recommendPoolSize,
  serverSidePoolerAdvice,
  type PoolerSizeInput,
  type PoolSizeRecommendation,
} from '@kysely-pooled/core'
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_PROBLEM, type CliIo } from './cli-io.js'
import { packageVersion } from './package-version.js'
import { parseDatabaseUrl, scrubSecrets, type DatabaseUrl } from './database-url.js'
import {
  createServerProbe,
  describeConnectError,
  DriverMissingError,
  type ProbeSession,
  type ServerFacts,
  type ServerProbe,
} from './server-probe.js'

export const DOCTOR_HELP = `Usage: kysely-pooled doctor [<url>…] [options]

Connects to a PostgreSQL or MySQL/MariaDB server and prints its version, its
connection limits and use, what opening a connection costs next to a query,
and the pool size (max per process) that keeps all your processes inside the
server's limit. The scheme picks the driver: postgres://, postgresql:// (pg),
mysql://, mariadb:// (mysql2). Without <url>, the URL is read from
DATABASE_URL, which keeps the password out of your shell history.

With replicas or candidate primaries (failover), pass every server's URL:
each server gets a pool of its own in each process, so each server's budget
is counted, and the pool max is the one that fits them all.

Options:
  --processes <n>    processes per host, each with its own pool (default 1)
  --hosts <n>        hosts running those processes (default 1)
  --concurrency <n>  expected peak concurrent queries per process; caps max
  --reserved <n>     connections to leave to others; default: the server's
                     reserved slots + the connections in use now
  --headroom <pct>   share of each budget kept free for deploys and surprises,
                     in percent (default ${DEFAULT_HEADROOM_RATIO * 100}, as recommendPoolSize)
  --pooler <mode>    PostgreSQL behind a pooler: 'transaction' (PgBouncer,
                     Supavisor, RDS Proxy…) sizes its two budgets; 'none'
  --pooler-pool-size <n>
                     the pooler's server connections (PgBouncer default_pool_size)
  --pooler-max-client-conn <n>
                     the client connections it accepts (PgBouncer max_client_conn,
                     default ${PGBOUNCER_DEFAULT_MAX_CLIENT_CONN})
  --samples <n>      tries per timing, median reported (default 5)
  --timeout <ms>     connect timeout (default 5000)
  -h, --help         show this help
  -v, --version      print the version

Exit codes: 0 done; 1 the processes cannot fit in the server's limit;
2 bad arguments or URL, or the server could not be reached.
`

interface DoctorOptions {
  readonly url: DatabaseUrl
  /** Every server's URL (the first is `url`): replicas and candidate primaries each get a pool per process. */
  readonly urls: readonly DatabaseUrl[]
  readonly processes: number
  readonly hosts: number
  readonly concurrency: number | undefined
  readonly reserved: number | undefined
  /** `undefined`: recommendPoolSize's default. */
  readonly headroomRatio: number | undefined
  readonly pooler: PoolerSizeInput | undefined
  readonly samples: number
  readonly timeoutMillis: number
}

/**
 * Runs `kysely-pooled doctor`; resolves the exit code. Never throws, never
 * prints a password. `env` supplies `DATABASE_URL` when no URL is given.
 */
export async function runDoctor(
  argv: readonly string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let secrets: readonly string[] = []
  try {
    const options = parseDoctorArgs(argv, io, env)
    if (options === undefined) {
      return EXIT_OK
    }
    secrets = options.urls.flatMap((url) => url.secrets)
    if (options.urls.length === 1) {
      return await diagnose(options, io, [])
    }
    // One pool per server in each process: every server's budget must hold it.
    const maxes: number[] = []
    for (const url of options.urls) {
      const code = await diagnose({ ...options, url }, io, maxes)
      if (code !== EXIT_OK) return code
      io.out('\n')
    }
    const max = Math.min(...maxes)
    io.out(
      `${options.urls.length} servers, one pool each per process (replicas, failover): pool: { max: ${max} } fits every server's budget (${maxes.join(', ')})\n`,
    )
    return EXIT_OK
  } catch (error) {
    const message =
      error instanceof CliError || error instanceof DriverMissingError
        ? error.message
        : `unexpected failure: ${describeConnectError(error)}`
    io.err(`kysely-pooled doctor: ${scrubSecrets(message, secrets)}\n`)
    return error instanceof CliError ? error.exitCode : EXIT_FAILURE
  }
}

function parseDoctorArgs(argv: readonly string[], io: CliIo, env: NodeJS.ProcessEnv): DoctorOptions | undefined {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    // parseArgs names the bad option, never its value.
    throw new CliError(`${(error as Error).message.split('\n')[0]} (see --help)`)
  }
  const { values, positionals } = parsed
  if (values.help) {
    io.out(DOCTOR_HELP)
    return undefined
  }
  if (values.version) {
    io.out(`${packageVersion()}\n`)
    return undefined
  }
  const fromEnv = env.DATABASE_URL?.trim()
  const rawUrls = positionals.length > 0 ? positionals : fromEnv ? [fromEnv] : []
  if (rawUrls.length === 0) {
    throw new CliError('missing <url>: pass it, or set DATABASE_URL (see --help)')
  }
  const urls = rawUrls.map(parseDatabaseUrl)
  if (new Set(urls.map((parsed) => parsed.dialect)).size > 1) {
    throw new CliError('the servers of one dialect are all PostgreSQL or all MySQL/MariaDB')
  }
  let headroomRatio: number | undefined
  if (values.headroom !== undefined) {
    const percent = Number(values.headroom)
    if (values.headroom.trim() === '' || !(percent >= 0 && percent < 100)) {
      throw new CliError('--headroom must be a percentage from 0 up to 100')
    }
    headroomRatio = percent / 100
  }
  const url = urls[0]!
  return {
    url,
    urls,
    processes: integerOption('processes', values.processes, 1) ?? 1,
    hosts: integerOption('hosts', values.hosts, 1) ?? 1,
    concurrency: integerOption('concurrency', values.concurrency, 1),
    reserved: integerOption('reserved', values.reserved, 0),
    headroomRatio,
    pooler: poolerOptions(values, url),
    samples: integerOption('samples', values.samples, 1) ?? 5,
    timeoutMillis: integerOption('timeout', values.timeout, 1) ?? 5_000,
  }
}

function poolerOptions(values: ReturnType<typeof parse>['values'], url: DatabaseUrl): PoolerSizeInput | undefined {
  const mode = values.pooler ?? 'none'
  const poolSize = integerOption('pooler-pool-size', values['pooler-pool-size'], 1)
  const maxClientConnections = integerOption('pooler-max-client-conn', values['pooler-max-client-conn'], 1)
  if (mode === 'none') {
    if (poolSize !== undefined || maxClientConnections !== undefined) {
      throw new CliError('--pooler-pool-size and --pooler-max-client-conn need --pooler transaction')
    }
    return undefined
  }
  if (mode === 'session') {
    throw new CliError(
      '--pooler session: a session pooler pins one server connection per client connection; size as without a pooler (omit --pooler)',
    )
  }
  if (mode !== 'transaction') {
    throw new CliError("--pooler must be 'transaction' or 'none'")
  }
  if (url.dialect === 'mysql') {
    throw new CliError(
      `--pooler is for PgBouncer in front of PostgreSQL; for MySQL/MariaDB, ${serverSidePoolerAdvice('mysql')}`,
    )
  }
  if (poolSize === undefined) {
    throw new CliError("--pooler transaction needs --pooler-pool-size <n> (PgBouncer's default_pool_size)")
  }
  return { poolSize, ...(maxClientConnections === undefined ? {} : { maxClientConnections }) }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      processes: { type: 'string' },
      hosts: { type: 'string' },
      concurrency: { type: 'string' },
      reserved: { type: 'string' },
      headroom: { type: 'string' },
      pooler: { type: 'string' },
      'pooler-pool-size': { type: 'string' },
      'pooler-max-client-conn': { type: 'string' },
      samples: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  })
}

function integerOption(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) {
    return undefined
  }
  const value = Number(raw)
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min) {
    // The value is not echoed: a mistyped command line may have shifted a URL into it.
    throw new CliError(`--${name} must be an integer >= ${min}`)
  }
  return value
}

/** Diagnoses `options.url`; pushes the max it recommends to `maxes`. */
async function diagnose(options: DoctorOptions, io: CliIo, maxes: number[]): Promise<number> {
  const { url } = options
  const probe = await createServerProbe(url, { connectTimeoutMillis: options.timeoutMillis })
  const session = await openOrExplain(probe, url)
  let facts: ServerFacts
  let openMillis: number
  let queryMillis: number
  try {
    facts = await session.facts()
    openMillis = await timeOpening(probe, url, options.samples)
    await session.selectOne() // warm-up: the first query pays for parsing and caches
    queryMillis = await medianMillis(options.samples, () => session.selectOne())
  } catch (error) {
    if (error instanceof CliError) throw error
    throw new CliError(`failed while inspecting ${url.displayUrl}: ${describeConnectError(error)}`)
  } finally {
    await session.close()
  }

  const out: string[] = []
  out.push(`kysely-pooled doctor: ${url.displayUrl}`, '')
  out.push(row('server', facts.version))
  out.push(row('max_connections', String(facts.maxConnections)))
  out.push(row('reserved', `${facts.reserved} (${facts.reservedDetail})`))
  out.push(row('in use now', `${facts.inUse} client connection${facts.inUse === 1 ? '' : 's'} (not counting this one)`))
  out.push('')
  out.push(`cost, median of ${options.samples}:`)
  out.push(row('  open a connection', `${formatMillis(openMillis)} ms`))
  out.push(row('  run SELECT 1', `${formatMillis(queryMillis)} ms`))
  const ratio = openMillis / Math.max(queryMillis, 0.001)
  out.push(
    `  opening a connection costs as much as ${Math.round(ratio)} trivial queries: keep connections open in a pool`,
  )
  out.push('')

  const reserved = options.reserved ?? facts.reserved + facts.inUse
  out.push(
    `pool size for ${options.processes} process${options.processes === 1 ? '' : 'es'} × ${options.hosts} host${options.hosts === 1 ? '' : 's'}:`,
  )
  if (options.reserved === undefined) {
    out.push(
      `  reserved = ${facts.reserved} reserved slots + ${facts.inUse} in use now (stop your app first, or pass --reserved)`,
    )
  }
  let recommendation: PoolSizeRecommendation
  try {
    recommendation = recommendPoolSize({
      serverMaxConnections: facts.maxConnections,
      reservedConnections: reserved,
      processes: options.processes,
      hosts: options.hosts,
      concurrentQueries: options.concurrency,
      headroomRatio: options.headroomRatio,
      database: url.dialect,
      pooler: options.pooler,
    })
  } catch (error) {
    if (!(error instanceof PoolSizingError)) throw error
    io.out(`${out.join('\n')}\n`)
    io.err(`kysely-pooled doctor: ${error.message}\n`)
    return EXIT_PROBLEM
  }
  for (const line of recommendation.arithmetic) {
    out.push(`  ${line}`)
  }
  maxes.push(recommendation.max)
  out.push(`  => pool: { max: ${recommendation.max} } in each process`)
  if (options.concurrency === undefined) {
    out.push('     (an upper bound: aim lower; size by peak concurrent queries with --concurrency, 1 for a CLI tool)')
  }
  out.push('')
  if (recommendation.pooler !== undefined) {
    const { poolSize, maxClientConnections, serverBudget } = recommendation.pooler
    out.push('two budgets behind the pooler:')
    out.push(
      `  client side: processes × max = ${recommendation.total} <= PgBouncer max_client_conn ${maxClientConnections}`,
    )
    out.push(
      `  server side: default_pool_size ${poolSize} <= max_connections - reserved = ${serverBudget} (after headroom)`,
    )
    out.push(`  at most ${poolSize} transactions run at once; the other clients wait in PgBouncer, not in the server`)
    out.push("  under transaction pooling, session state does not stay put: use the dialect's pooler: 'transaction'")
  } else {
    out.push(`when one server is not enough: ${serverSidePoolerAdvice(url.dialect)}`)
  }
  io.out(`${out.join('\n')}\n`)
  return EXIT_OK
}

async function openOrExplain(probe: ServerProbe, url: DatabaseUrl): Promise<ProbeSession> {
  try {
    return await probe.open()
  } catch (error) {
    throw new CliError(`cannot connect to ${url.displayUrl}: ${describeConnectError(error)}`)
  }
}

async function timeOpening(probe: ServerProbe, url: DatabaseUrl, samples: number): Promise<number> {
  return medianMillis(samples, async () => {
    const session = await openOrExplain(probe, url)
    // Closing is not part of the cost a pool saves per query: stop the clock first.
    return () => session.close()
  })
}

/** Times `fn` `samples` times, one after another; resolves the median in milliseconds. */
async function medianMillis(samples: number, fn: () => Promise<void | (() => Promise<void>)>): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < samples; i++) {
    const start = process.hrtime.bigint()
    const after = await fn()
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
    if (after) await after()
  }
  times.sort((a, b) => a - b)
  const mid = Math.floor(times.length / 2)
  return times.length % 2 === 1 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2
}

function row(label: string, value: string): string {
  return `${label.padEnd(20)} ${value}`
}

function formatMillis(ms: number): string {
  return ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)
}
