import cluster, { type Worker } from 'node:cluster'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { recommendPoolSize } from '@kysely-pooled/core'
import type { ExampleDatabase } from '../shared/databases.js'
import { createPooledKysely } from '../shared/dialect.js'
import { WORKER_SETTINGS_VARIABLE, type WorkerMessage, type WorkerSettings } from './messages.js'
import { connectionMarker, readServerLimits } from './server-connections.js'

export interface ClusterOptions {
  readonly database: ExampleDatabase
  readonly workers: number
  /** Expected peak concurrent queries per worker: caps each pool (aim low). */
  readonly concurrency: number
  /** Share of the free connections left unused, for deploys and surprises. */
  readonly headroomRatio: number
  readonly burstMillis: number
}

export interface WorkerReport {
  readonly pid: number
  readonly max: number
  readonly peakSize: number
  readonly queries: number
}

export interface ClusterReport {
  readonly dialect: string
  readonly workers: number
  readonly serverMaxConnections: number
  readonly reserved: number
  readonly inUseBefore: number
  readonly budget: number
  readonly perWorkerMax: number
  /** perWorkerMax × workers: the most the cluster can hold. */
  readonly total: number
  readonly arithmetic: readonly string[]
  readonly countedBy: string
  /** This run's connections the server saw before the workers started (MySQL counts by user). */
  readonly baseline: number
  /** The most connections of this run the server saw at once, baseline removed. */
  readonly peakServerConnections: number
  readonly workerReports: readonly WorkerReport[]
}

/**
 * The primary: reads the server's real limits, sizes each worker's pool
 * with recommendPoolSize (max_connections minus reserved slots minus what
 * is in use now, minus headroom, shared by the workers), forks the workers,
 * and counts this application's connections on the server while they run.
 */
export async function runClusterPrimary(options: ClusterOptions): Promise<ClusterReport> {
  const { database } = options
  // The primary's own connection, for reading limits and counting: a pool of one.
  const monitor = createPooledKysely<object>(database, { max: 1, name: 'cluster-monitor' })
  try {
    const limits = await readServerLimits(monitor.db, database.dialect)
    const sizing = recommendPoolSize({
      serverMaxConnections: limits.maxConnections,
      // Everything open now belongs to someone else (the monitor included).
      reservedConnections: limits.reserved + limits.inUse,
      processes: options.workers,
      concurrentQueries: options.concurrency,
      headroomRatio: options.headroomRatio,
    })

    const marker = connectionMarker(database.dialect, database.url, randomBytes(4).toString('hex'))
    const baseline = await marker.count(monitor.db)

    const settings: WorkerSettings = {
      dialect: database.dialect,
      url: marker.url,
      poolMax: sizing.max,
      users: sizing.max * 3, // more users than connections: every pool fills to its max
      burstMillis: options.burstMillis,
    }
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker.js', import.meta.url)), execArgv: [] })
    const workers = Array.from({ length: options.workers }, () =>
      cluster.fork({ [WORKER_SETTINGS_VARIABLE]: JSON.stringify(settings) }),
    )

    try {
      await Promise.all(workers.map((worker) => nextMessage(worker, 'ready')))
      for (const worker of workers) worker.send({ type: 'go' })

      let peak = 0
      let sampling = true
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, (await marker.count(monitor.db)) - baseline)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })()
      const done = await Promise.all(workers.map((worker) => nextMessage(worker, 'done')))
      sampling = false
      await sampler

      return {
        dialect: database.dialect,
        workers: options.workers,
        serverMaxConnections: limits.maxConnections,
        reserved: limits.reserved,
        inUseBefore: limits.inUse,
        budget: sizing.budget,
        perWorkerMax: sizing.max,
        total: sizing.total,
        arithmetic: sizing.arithmetic,
        countedBy: marker.description,
        baseline,
        peakServerConnections: peak,
        workerReports: workerReports(workers, done),
      }
    } finally {
      await Promise.all(workers.map(exited))
    }
  } finally {
    await monitor.db.destroy()
  }
}

/** What each worker reported at the end, with its pid. */
export function workerReports(workers: readonly Worker[], done: readonly Message<'done'>[]): WorkerReport[] {
  return done.map((message, i) => ({
    pid: workers[i]!.process.pid ?? 0,
    max: message.max,
    peakSize: message.peakSize,
    queries: message.queries,
  }))
}

export type Message<T extends WorkerMessage['type']> = Extract<WorkerMessage, { type: T }>

export function nextMessage<T extends 'ready' | 'done'>(
  worker: Worker,
  type: T,
  timeoutMillis = 20_000,
): Promise<Message<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`worker ${worker.process.pid} sent no "${type}" in ${timeoutMillis} ms`)),
      timeoutMillis,
    )
    const onMessage = (message: WorkerMessage) => {
      if (message.type === type) finish(undefined, message as Message<T>)
      else if (message.type === 'failed') finish(new Error(`worker ${worker.process.pid} failed: ${message.message}`))
    }
    const onExit = () => finish(new Error(`worker ${worker.process.pid} exited before "${type}"`))
    const finish = (error?: Error, message?: Message<T>) => {
      clearTimeout(timer)
      worker.off('message', onMessage)
      worker.off('exit', onExit)
      if (error) reject(error)
      else resolve(message!)
    }
    worker.on('message', onMessage)
    worker.once('exit', onExit)
  })
}

export function exited(worker: Worker): Promise<void> {
  if (worker.isDead()) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => worker.kill(), 10_000)
    worker.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/** The report for a human. */
export function formatClusterReport(report: ClusterReport, displayUrl: string): string[] {
  const lines = [
    `cluster: ${report.workers} workers, each with its own pool, on ${displayUrl}`,
    `  server: max_connections ${report.serverMaxConnections}, reserved ${report.reserved}, in use before start ${report.inUseBefore}`,
    ...report.arithmetic.map((line) => `    ${line}`),
  ]
  for (const [i, w] of report.workerReports.entries()) {
    lines.push(`  worker ${i + 1} (pid ${w.pid}): pool max ${w.max}, peak size ${w.peakSize}, ${w.queries} queries`)
  }
  lines.push(
    `  the pools together: at most ${report.perWorkerMax} × ${report.workers} = ${report.total} connections <= budget ${report.budget}`,
  )
  const net =
    report.baseline > 0 ? ` more than the ${report.baseline} open before start (every session of that user counts)` : ''
  const verdict =
    report.peakServerConnections <= report.total
      ? "within the pools' total"
      : "more than the pools' total: other sessions share that user"
  lines.push(`  seen by the server, ${report.countedBy}: peak ${report.peakServerConnections}${net}; ${verdict}`)
  return lines
}
