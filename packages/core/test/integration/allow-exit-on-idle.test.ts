import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { testDatabase, testDatabases } from '../../src/testing/index.js'

// `allowExitOnIdle`: a script that never calls destroy() still ends once its
// work is done, with an idle connection open (idleTimeoutMillis is a minute).
// Runs the built package in a child process (`pnpm test` builds first).
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url))

function runScript(
  dialect: string,
  url: string,
  allowExitOnIdle: boolean,
): Promise<{ code: number | null; output: string; exitedByItself: boolean }> {
  const script = `
    import { createPool, postgresConnector, mysqlConnector } from ${JSON.stringify(dist)}
    const connector = ${JSON.stringify(dialect)} === 'postgres' ? postgresConnector(${JSON.stringify(url)}) : mysqlConnector(${JSON.stringify(url)})
    const pool = createPool(connector, { max: 2, allowExitOnIdle: ${allowExitOnIdle}, idleTimeoutMillis: 60_000 })
    await pool.use((c) => ${JSON.stringify(dialect)} === 'postgres' ? c.query('select 1') : new Promise((ok, fail) => c.query('select 1', (e) => (e ? fail(e) : ok()))))
    console.log('idle connections:', pool.stats().idle)
  `
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    // Far below idleTimeoutMillis: only a process that lets go of its idle sockets ends by then.
    const guard = setTimeout(() => child.kill('SIGKILL'), 8_000)
    child.on('exit', (code, signal) => {
      clearTimeout(guard)
      resolve({ code, output, exitedByItself: signal === null })
    })
  })
}

describe.each(testDatabases())('allowExitOnIdle on $dialect', (db) => {
  it('lets the process end with an idle connection still open', async () => {
    const run = await runScript(db.dialect, db.url, true)
    expect(run.output).toContain('idle connections: 1')
    expect(run).toMatchObject({ exitedByItself: true, code: 0 })
  }, 30_000)
})

// The control case, once (on PostgreSQL): it shows the check above can fail.
it('without allowExitOnIdle, the idle connection keeps the process alive', async () => {
  const db = testDatabase('postgres')
  const run = await runScript(db.dialect, db.url, false)
  expect(run.output).toContain('idle connections: 1')
  expect(run.exitedByItself).toBe(false)
}, 30_000)
