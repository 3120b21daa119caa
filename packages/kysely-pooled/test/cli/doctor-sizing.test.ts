import { recommendPoolSize } from '@kysely-pooled/core'
import { testDatabases, type TestDatabase } from '@kysely-pooled/core/testing'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { runDoctor } from '../../src/cli/doctor.js'
import { runCli } from '../../src/cli/run-cli.js'
import { captureIo } from './capture-io.js'

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version
const SECRET = 'kp-Env-Secret-5150'

async function doctor(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const io = captureIo()
  const code = await runDoctor(argv, io, env)
  return { code, stdout: io.stdout, stderr: io.stderr }
}

/** The max the doctor printed, and the max_connections it read. */
function printed(stdout: string): { max: number; maxConnections: number } {
  return {
    max: Number(/pool: \{ max: (\d+) \}/.exec(stdout)?.[1]),
    maxConnections: Number(/^max_connections\s+(\d+)/m.exec(stdout)?.[1]),
  }
}

describe('kysely-pooled --version', () => {
  it.each([['--version'], ['-v'], ['doctor', '--version'], ['doctor', '-v']])(
    '%s %s prints the package version',
    async (...argv) => {
      const io = captureIo()
      expect(await runCli(argv, io, {})).toBe(0)
      expect(io.stdout).toBe(`${VERSION}\n`)
      expect(io.stderr).toBe('')
    },
  )
})

describe('kysely-pooled doctor: arguments for sizing', () => {
  it('without a URL and without DATABASE_URL, says where the URL can come from', async () => {
    const r = await doctor([])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('kysely-pooled doctor: missing <url>: pass it, or set DATABASE_URL (see --help)\n')
  })

  it.each([
    { argv: ['--pooler', 'transaction'], error: /needs --pooler-pool-size/ },
    { argv: ['--pooler-pool-size', '20'], error: /need --pooler transaction/ },
    { argv: ['--pooler', 'statement', '--pooler-pool-size', '20'], error: /--pooler must be 'transaction' or 'none'/ },
    { argv: ['--pooler', 'session'], error: /pins one server connection per client connection/ },
    {
      argv: ['--pooler', 'transaction', '--pooler-pool-size', '0'],
      error: /--pooler-pool-size must be an integer >= 1/,
    },
    { argv: ['--headroom', '100'], error: /--headroom must be a percentage/ },
  ])('$argv: exit 2, one line', async ({ argv, error }) => {
    const r = await doctor(['postgres://127.0.0.1:1/db', ...argv])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(error)
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
  })

  it('--pooler on a MySQL URL points at ProxySQL, not PgBouncer', async () => {
    const r = await doctor(['mysql://127.0.0.1:1/db', '--pooler', 'transaction', '--pooler-pool-size', '10'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('ProxySQL')
    expect(r.stderr).toMatch(/--pooler is for PgBouncer in front of PostgreSQL/)
  })
})

describe.each(testDatabases())('kysely-pooled doctor sizing on $dialect', (database: TestDatabase) => {
  const withSecret = (() => {
    const url = new URL(database.url)
    url.password = SECRET
    return url.href
  })()

  it('takes the URL from DATABASE_URL when none is given, and never prints its password', async () => {
    // The local servers trust the test user, so a password in the URL is ignored by them, never printed by us.
    const r = await doctor(['--samples', '1'], {
      DATABASE_URL: database.dialect === 'postgres' ? withSecret : database.url,
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`kysely-pooled doctor: ${database.displayUrl.replace(/\/$/, '')}`)
    expect(r.stdout + r.stderr).not.toContain(SECRET)
  })

  it('an argument wins over DATABASE_URL', async () => {
    const r = await doctor([database.url, '--samples', '1'], { DATABASE_URL: 'postgres://127.0.0.1:1/nowhere' })
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain('nowhere')
  })

  it.each([
    { name: 'default headroom', flags: [] as string[], headroomRatio: undefined },
    { name: '--headroom 0', flags: ['--headroom', '0'], headroomRatio: 0 },
    { name: '--headroom 25', flags: ['--headroom', '25'], headroomRatio: 0.25 },
  ])('gives the same max as recommendPoolSize for the same inputs ($name)', async ({ flags, headroomRatio }) => {
    const r = await doctor([
      database.url,
      '--samples',
      '1',
      '--reserved',
      '10',
      '--processes',
      '4',
      '--hosts',
      '3',
      ...flags,
    ])
    expect(r.code).toBe(0)
    const { max, maxConnections } = printed(r.stdout)
    const api = recommendPoolSize({
      serverMaxConnections: maxConnections,
      reservedConnections: 10,
      processes: 4,
      hosts: 3,
      ...(headroomRatio === undefined ? {} : { headroomRatio }),
    })
    expect(max).toBe(api.max)
    for (const line of api.arithmetic) expect(r.stdout).toContain(line)
  })

  if (database.dialect === 'mysql') {
    it('advises ProxySQL, never PgBouncer, when one server is not enough', async () => {
      const ok = await doctor([database.url, '--samples', '1', '--reserved', '0'])
      expect(ok.stdout).toContain('when one server is not enough: put ProxySQL in front')
      const tooMany = await doctor([database.url, '--samples', '1', '--processes', '1000'])
      expect(tooMany.code).toBe(1)
      expect(tooMany.stderr).toContain('ProxySQL')
      expect(ok.stdout + tooMany.stdout + tooMany.stderr).not.toContain('PgBouncer')
    })
  } else {
    it('advises PgBouncer in transaction mode when one server is not enough', async () => {
      const tooMany = await doctor([database.url, '--samples', '1', '--processes', '1000'])
      expect(tooMany.code).toBe(1)
      expect(tooMany.stderr).toContain('PgBouncer in transaction mode')
      expect(tooMany.stderr).not.toContain('ProxySQL')
    })

    it("--pooler transaction: explains the client and the server budget, with the API's arithmetic", async () => {
      const argv = ['--samples', '1', '--reserved', '10', '--processes', '16', '--hosts', '4']
      const pooler = ['--pooler', 'transaction', '--pooler-pool-size', '20', '--pooler-max-client-conn', '1000']
      const r = await doctor([database.url, ...argv, ...pooler])
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      const { max, maxConnections } = printed(r.stdout)
      const api = recommendPoolSize({
        serverMaxConnections: maxConnections,
        reservedConnections: 10,
        processes: 16,
        hosts: 4,
        database: 'postgres',
        pooler: { poolSize: 20, maxClientConnections: 1000 },
      })
      expect(max).toBe(api.max)
      expect(max).toBe(14) // floor(900 / 64): more processes than the server alone could serve
      expect(r.stdout).toContain(`client side: processes × max = ${api.total} <= PgBouncer max_client_conn 1000`)
      expect(r.stdout).toContain(
        `server side: default_pool_size 20 <= max_connections - reserved = ${api.pooler!.serverBudget}`,
      )
      expect(r.stdout).toContain('at most 20 transactions run at once')
      // Without the pooler the same 64 processes get a much smaller share of the server.
      const direct = await doctor([database.url, ...argv])
      expect(printed(direct.stdout).max).toBeLessThan(max)
    })

    it('--pooler transaction: a pool size above the server budget exits 1', async () => {
      const r = await doctor([
        database.url,
        '--samples',
        '1',
        '--reserved',
        '0',
        '--pooler',
        'transaction',
        '--pooler-pool-size',
        '100000',
      ])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/pool size 100000 .* above the server budget/)
    })
  }
})
