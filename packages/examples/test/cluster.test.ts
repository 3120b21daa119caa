import { execFile } from 'node:child_process'
import { testDatabases } from '@kysely-pooled/core/testing'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterReport } from '../src/cluster/primary.js'
import { ensureExamplesBuilt } from './support/ensure-built.js'

const MYSQL_USER = 'kp_ex_cluster'
const MYSQL_PASSWORD = 'kp-Ex-Cluster-4711'

let main: string
beforeAll(() => {
  main = ensureExamplesBuilt('cluster/main.js')
}, 120_000)

function runCluster(
  dialect: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, '--workers', '2', '--db', dialect, '--concurrency', '3', '--burst-ms', '400', '--json'],
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
    )
  })
}

describe.each(testDatabases())('cluster example on $dialect', ({ dialect, url }) => {
  // PostgreSQL tells the cluster's connections apart by application_name;
  // MySQL by user, so the test gives the cluster a user of its own.
  let clusterUrl = url

  beforeAll(async () => {
    if (dialect !== 'mysql') return
    const admin = await mysql.createConnection({ uri: url })
    try {
      const database = new URL(url).pathname.slice(1) || 'test'
      await admin.query(`DROP USER IF EXISTS '${MYSQL_USER}'@'%'`)
      await admin.query(`CREATE USER '${MYSQL_USER}'@'%' IDENTIFIED BY '${MYSQL_PASSWORD}'`)
      await admin.query(`GRANT SELECT ON \`${database}\`.* TO '${MYSQL_USER}'@'%'`)
    } finally {
      await admin.end()
    }
    const u = new URL(url)
    u.username = MYSQL_USER
    u.password = MYSQL_PASSWORD
    clusterUrl = u.href
  })

  afterAll(async () => {
    if (dialect !== 'mysql') return
    const admin = await mysql.createConnection({ uri: url })
    await admin.query(`DROP USER IF EXISTS '${MYSQL_USER}'@'%'`).finally(() => admin.end())
  })

  it('2 workers, pools sized by recommendPoolSize: the server never sees more than the budget', async () => {
    const r = await runCluster(dialect, dialect === 'postgres' ? { PG_URL: clusterUrl } : { MYSQL_URL: clusterUrl })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain(MYSQL_PASSWORD)
    const report = JSON.parse(r.stdout) as ClusterReport

    expect(report.workers).toBe(2)
    expect(report.perWorkerMax).toBe(3) // capped by --concurrency: aim low
    expect(report.total).toBe(6)
    expect(report.total).toBeLessThanOrEqual(report.budget)
    expect(report.budget).toBeLessThan(report.serverMaxConnections)
    expect(report.arithmetic.join('\n')).toContain('2 pools (2 processes × 1 host)')

    expect(report.workerReports).toHaveLength(2)
    for (const worker of report.workerReports) {
      expect(worker.max).toBe(3)
      expect(worker.peakSize).toBeLessThanOrEqual(3)
      expect(worker.queries).toBeGreaterThan(0)
    }
    // The server saw the workers' connections, and never more than the pools allow.
    expect(report.peakServerConnections).toBeGreaterThan(0)
    expect(report.peakServerConnections).toBeLessThanOrEqual(report.total)
    expect(report.peakServerConnections).toBeLessThanOrEqual(report.budget)
  })
})
