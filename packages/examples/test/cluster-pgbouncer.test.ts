import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { assertAvailable, pgbouncerTarget, testDatabase } from '@kysely-pooled/core/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PgBouncerClusterReport } from '../src/cluster/pgbouncer-primary.js'
import { ensureExamplesBuilt } from './support/ensure-built.js'

const pgbouncerCtl = fileURLToPath(new URL('../../core/test/support/pgbouncer/pgbouncer.sh', import.meta.url))
const WORKERS = 3
const POOL_MAX = 4
const POOL_SIZE = 3

async function onServer(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

describe('cluster example behind PgBouncer (transaction mode)', () => {
  const server = testDatabase('postgres')
  // A database of the run's own, so every server session of PgBouncer's user there is the cluster's.
  const database = `${new URL(server.url).pathname.slice(1) || 'test'}_kp_ex_cluster`.slice(0, 63)
  let runDir = ''
  let pgbouncerUrl = ''
  let main: string

  beforeAll(async () => {
    // The shared PgBouncer target tells whether pgbouncer is here; this test starts its own with pool_size P.
    assertAvailable(pgbouncerTarget())
    main = ensureExamplesBuilt('cluster/main.js')
    await onServer(server.url, `drop database if exists ${database} with (force)`)
    await onServer(server.url, `create database ${database}`)
    runDir = mkdtempSync(join(tmpdir(), 'kp-ex-pgbouncer-'))
    const port = execFileSync(pgbouncerCtl, ['start', runDir, String(POOL_SIZE)], {
      encoding: 'utf8',
      env: { ...process.env, PG_URL: server.url },
    }).trim()
    const url = new URL(server.url)
    url.hostname = '127.0.0.1'
    url.port = port
    url.pathname = `/${database}`
    pgbouncerUrl = url.href
  }, 120_000)

  afterAll(async () => {
    if (runDir !== '') execFileSync(pgbouncerCtl, ['stop', runDir], { stdio: 'ignore' })
    await onServer(server.url, `drop database if exists ${database} with (force)`)
  })

  it(`${WORKERS} workers × pool max ${POOL_MAX} clients are served by PgBouncer's ${POOL_SIZE} server connections, never more`, async () => {
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          main,
          '--pgbouncer',
          pgbouncerUrl,
          '--workers',
          String(WORKERS),
          '--max',
          String(POOL_MAX),
          '--burst-ms',
          '600',
          '--json',
        ],
        { env: { ...process.env, PG_URL: server.url }, timeout: 30_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
      )
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as PgBouncerClusterReport

    expect(report.poolSize).toBe(POOL_SIZE)
    expect(report.clients).toBe(WORKERS * POOL_MAX)
    // Every worker's pool filled to its max: N × M client connections open at once…
    expect(report.workerReports.map((w) => w.peakSize)).toEqual(Array(WORKERS).fill(POOL_MAX))
    expect(report.peakClientConnections).toBe(WORKERS * POOL_MAX)
    for (const worker of report.workerReports) expect(worker.queries).toBeGreaterThan(0)
    // …while the server saw PgBouncer's pool, and never more than P.
    expect(report.peakServerConnections).toBeGreaterThan(0)
    expect(report.peakServerConnections).toBeLessThanOrEqual(POOL_SIZE)
    expect(report.peakServerConnectionsOfUserAndDatabase).toBeLessThanOrEqual(POOL_SIZE)
  })
})
