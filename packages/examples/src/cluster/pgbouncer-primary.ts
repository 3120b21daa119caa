import cluster from 'node:cluster'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { sql } from 'kysely'
import type { ExampleDatabase } from '../shared/databases.js'
import { createPooledKysely } from '../shared/dialect.js'
import { WORKER_SETTINGS_VARIABLE, type WorkerSettings } from './messages.js'
import { exited, nextMessage, workerReports, type WorkerReport } from './primary.js'

export interface PgBouncerClusterOptions {
  /** The server itself: where the primary counts server connections. */
  readonly server: ExampleDatabase
  /** PgBouncer (transaction mode) in front of that server, same database and user. */
  readonly pgbouncerUrl: string
  readonly workers: number
  /** Each worker's pool `max`: N × M client connections in all. */
  readonly poolMax: number
  readonly burstMillis: number
}

export interface PgBouncerClusterReport {
  readonly workers: number
  readonly perWorkerMax: number
  /** workers × perWorkerMax: the client connections the cluster opens to PgBouncer. */
  readonly clients: number
  /** PgBouncer's pool_size for the database (its admin console, SHOW DATABASES). */
  readonly poolSize: number
  readonly countedBy: string
  /** The most client connections PgBouncer held for the database at once (SHOW POOLS cl_active + cl_waiting). */
  readonly peakClientConnections: number
  /** The most server connections carrying this run's application_name PostgreSQL saw at once (pg_stat_activity). */
  readonly peakServerConnections: number
  /** The same, counting every session of PgBouncer's user and database (other apps there count too). */
  readonly peakServerConnectionsOfUserAndDatabase: number
  readonly queries: number
  readonly workerReports: readonly WorkerReport[]
}

/**
 * The cluster behind PgBouncer in transaction mode: N workers, each with a
 * pool of M client connections (pooler: 'transaction'), share PgBouncer's P
 * server connections. The primary samples both sides while the workers run:
 * PgBouncer's client count for the database, and the server connections
 * PostgreSQL sees for PgBouncer's user and database.
 */
export async function runPgBouncerCluster(options: PgBouncerClusterOptions): Promise<PgBouncerClusterReport> {
  const { server } = options
  const runId = randomBytes(4).toString('hex')
  const applicationName = `kp_ex_pgbouncer_${runId}`
  const bouncer = new URL(options.pgbouncerUrl)
  const database = decodeURIComponent(bouncer.pathname.slice(1))
  const user = decodeURIComponent(bouncer.username) || 'postgres'
  // PgBouncer passes application_name on to the server connection it assigns,
  // so the server's rows for this run carry the marker.
  bouncer.searchParams.set('application_name', applicationName)

  const monitor = createPooledKysely<object>(server, { max: 1, name: 'cluster-monitor' })
  const admin = new pg.Client({ connectionString: adminUrl(options.pgbouncerUrl) })
  admin.on('error', () => {})
  await admin.connect()
  try {
    const poolSize = await pgbouncerPoolSize(admin, database)
    const countServer = async (): Promise<[number, number]> => {
      const { rows } = await sql<{ marked: number; all: number }>`
        select count(*) filter (where application_name = ${applicationName})::int as marked, count(*)::int as all
          from pg_stat_activity
         where datname = ${database} and usename = ${user} and backend_type = 'client backend' and pid <> pg_backend_pid()`.execute(
        monitor.db,
      )
      return [Number(rows[0]!.marked), Number(rows[0]!.all)]
    }
    const countClients = async (): Promise<number> => {
      const { rows } = await admin.query<Record<string, string>>('SHOW POOLS')
      const pool = rows.find((row) => row.database === database && row.user === user)
      return pool === undefined ? 0 : Number(pool.cl_active) + Number(pool.cl_waiting)
    }

    const settings: WorkerSettings = {
      dialect: 'postgres',
      url: bouncer.href,
      poolMax: options.poolMax,
      users: options.poolMax * 3, // more users than connections: every pool fills to its max
      burstMillis: options.burstMillis,
      pooler: 'transaction',
    }
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker.js', import.meta.url)), execArgv: [] })
    const workers = Array.from({ length: options.workers }, () =>
      cluster.fork({ [WORKER_SETTINGS_VARIABLE]: JSON.stringify(settings) }),
    )
    try {
      await Promise.all(workers.map((worker) => nextMessage(worker, 'ready')))
      for (const worker of workers) worker.send({ type: 'go' })

      let peakServer = 0
      let peakServerAll = 0
      let peakClients = 0
      let sampling = true
      const sampler = (async () => {
        while (sampling) {
          const [[serverNow, serverAllNow], clientsNow] = await Promise.all([countServer(), countClients()])
          peakServer = Math.max(peakServer, serverNow)
          peakServerAll = Math.max(peakServerAll, serverAllNow)
          peakClients = Math.max(peakClients, clientsNow)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })()
      const done = await Promise.all(workers.map((worker) => nextMessage(worker, 'done')))
      sampling = false
      await sampler

      return {
        workers: options.workers,
        perWorkerMax: options.poolMax,
        clients: options.workers * options.poolMax,
        poolSize,
        countedBy: `pg_stat_activity: datname = '${database}', usename = '${user}', application_name = '${applicationName}'`,
        peakClientConnections: peakClients,
        peakServerConnections: peakServer,
        peakServerConnectionsOfUserAndDatabase: peakServerAll,
        queries: done.reduce((sum, message) => sum + message.queries, 0),
        workerReports: workerReports(workers, done),
      }
    } finally {
      await Promise.all(workers.map(exited))
    }
  } finally {
    await admin.end().catch(() => {})
    await monitor.db.destroy()
  }
}

/** PgBouncer's admin console: the special database `pgbouncer` (the user must be in admin_users or stats_users). */
function adminUrl(pgbouncerUrl: string): string {
  const url = new URL(pgbouncerUrl)
  url.pathname = '/pgbouncer'
  url.search = ''
  return url.href
}

async function pgbouncerPoolSize(admin: pg.Client, database: string): Promise<number> {
  const { rows } = await admin.query<Record<string, string>>('SHOW DATABASES')
  const row = rows.find((r) => r.name === database)
  if (row !== undefined && Number(row.pool_size) > 0) return Number(row.pool_size)
  // Not connected yet through the `*` entry, or no pool_size of its own: the default applies.
  const config = await admin.query<{ key: string; value: string }>('SHOW CONFIG')
  return Number(config.rows.find((r) => r.key === 'default_pool_size')?.value ?? 0)
}

/** The report for a human. */
export function formatPgBouncerReport(report: PgBouncerClusterReport, displayUrl: string): string[] {
  return [
    `cluster behind PgBouncer (transaction mode) at ${displayUrl}`,
    `  ${report.workers} workers × pool max ${report.perWorkerMax} = ${report.clients} client connections; PgBouncer pool_size ${report.poolSize}`,
    ...report.workerReports.map(
      (w, i) => `  worker ${i + 1} (pid ${w.pid}): pool max ${w.max}, peak size ${w.peakSize}, ${w.queries} queries`,
    ),
    `  seen by PgBouncer: peak ${report.peakClientConnections} client connections`,
    `  seen by the server, ${report.countedBy}: peak ${report.peakServerConnections} connections (pool_size ${report.poolSize})`,
    `  every session of that user and database: peak ${report.peakServerConnectionsOfUserAndDatabase}`,
    `  ${report.queries} queries served`,
  ]
}
