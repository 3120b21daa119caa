import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  PGBOUNCER_UNAVAILABLE_VARIABLE as PGBOUNCER_UNAVAILABLE,
  PGBOUNCER_URL_VARIABLE as PGBOUNCER_URL,
} from '../../../src/testing/test-databases.js'

const script = fileURLToPath(new URL('./pgbouncer.sh', import.meta.url))

/**
 * vitest globalSetup (root config): gives the PostgreSQL-through-PgBouncer
 * target a PgBouncer. `PGBOUNCER_URL` set (by .ci/run, or by hand): used as
 * it is. Else, with pgbouncer installed: one is started in transaction mode
 * in front of PG_URL's server, and stopped after the run. Else the reason is
 * handed to the tests, whose PgBouncer target then fails saying so.
 */
export default function setup(): (() => void) | undefined {
  if ((process.env[PGBOUNCER_URL] ?? '').trim() !== '') return undefined
  if (!installed()) {
    process.env[PGBOUNCER_UNAVAILABLE] =
      'pgbouncer is not installed: install it (Debian/Ubuntu: apt-get install -y pgbouncer) so the tests start one, or set PGBOUNCER_URL to a PgBouncer in transaction mode in front of PG_URL’s server'
    return undefined
  }
  const runDir = mkdtempSync(join(tmpdir(), 'kp-pgbouncer-'))
  let port: string
  try {
    port = execFileSync(script, ['start', runDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error)
    process.env[PGBOUNCER_UNAVAILABLE] =
      `pgbouncer is installed but did not start: ${stderr.trim().split('\n').slice(-3).join(' / ')}`
    return undefined
  }
  const upstream = new URL((process.env.PG_URL ?? '').trim() || 'postgres://postgres@127.0.0.1:5432/test')
  upstream.hostname = '127.0.0.1'
  upstream.port = port
  process.env[PGBOUNCER_URL] = upstream.href
  return () => {
    execFileSync(script, ['stop', runDir], { stdio: 'ignore' })
  }
}

function installed(): boolean {
  if (existsSync('/usr/sbin/pgbouncer')) return true
  try {
    execFileSync('sh', ['-c', 'command -v pgbouncer'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
