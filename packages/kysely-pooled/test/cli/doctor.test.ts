import { testDatabases, type TestDatabase } from '@kysely-pooled/core/testing'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../src/cli/run-cli.js'
import { runDoctor } from '../../src/cli/doctor.js'
import { captureIo } from './capture-io.js'

const RIGHT_PASSWORD = 'kp-Right-Pw-7391'
const WRONG_PASSWORD = 'kp-Wrong-Pw-2468'
// Both kysely-pooled projects (kysely 0.29 and 0.28) run this file at once: one role each.
const ROLE = `kp_cli_doctor_${(process.env.KP_KYSELY_LINE ?? 'x').replace('.', '')}${process.env.KP_PIPELINE === '1' ? 'p' : ''}`

async function doctor(...argv: string[]) {
  const io = captureIo()
  // No DATABASE_URL from the environment: these tests pass the URL themselves.
  const code = await runDoctor(argv, io, {})
  return { code, stdout: io.stdout, stderr: io.stderr }
}

function withCredentials(url: string, user: string, password: string, database?: string): string {
  const u = new URL(url)
  u.username = user
  u.password = password
  if (database !== undefined) u.pathname = `/${database}`
  return u.href
}

function expectNoPassword(text: string): void {
  for (const secret of [RIGHT_PASSWORD, WRONG_PASSWORD, 'Right-Pw', 'Wrong-Pw']) {
    expect(text).not.toContain(secret)
  }
}

describe('kysely-pooled doctor: arguments', () => {
  it('prints help and exits 0', async () => {
    const r = await doctor('--help')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage: kysely-pooled doctor [<url>…]')
    expect(r.stdout).toContain('--processes')
    expect(r.stderr).toBe('')
  })

  it('the top-level command routes doctor and rejects unknown commands without echoing them', async () => {
    const io = captureIo()
    expect(await runCli(['doctor', '-h'], io)).toBe(0)
    expect(io.stdout).toContain('Usage: kysely-pooled doctor')
    const bad = captureIo()
    expect(await runCli([`postgres://u:${WRONG_PASSWORD}@h/db`], bad)).toBe(2)
    expect(bad.stderr).toContain('unknown command')
    expectNoPassword(bad.stderr)
  })

  it.each(['doctr', 'docter', 'Doctor', 'dcotor'])('suggests "doctor" for the unknown command %s', async (typo) => {
    const io = captureIo()
    expect(await runCli([typo], io)).toBe(2)
    expect(io.stderr).toBe(
      'kysely-pooled: unknown command; did you mean "kysely-pooled doctor"? (see kysely-pooled --help)\n',
    )
  })

  it('suggests nothing for a word far from every command', async () => {
    const io = captureIo()
    expect(await runCli(['migrate'], io)).toBe(2)
    expect(io.stderr).toBe('kysely-pooled: unknown command (see kysely-pooled --help)\n')
  })

  it.each([
    { name: 'no URL', argv: [], error: /missing <url>/ },
    { name: 'two databases', argv: ['postgres://a/b', 'mysql://c/d'], error: /all PostgreSQL or all MySQL/ },
    { name: 'unknown option', argv: ['postgres://h/db', '--bogus'], error: /Unknown option '--bogus'/ },
    { name: 'not a URL', argv: [`postgres://u:${WRONG_PASSWORD}@host:port/db`], error: /not a valid URL/ },
    {
      name: 'unsupported scheme',
      argv: [`redis://u:${WRONG_PASSWORD}@127.0.0.1/0`],
      error: /unsupported scheme "redis:"/,
    },
    {
      name: 'bad --processes',
      argv: ['postgres://h/db', '--processes', `postgres://u:${WRONG_PASSWORD}@h`],
      error: /--processes must be an integer >= 1/,
    },
    { name: 'zero --hosts', argv: ['postgres://h/db', '--hosts', '0'], error: /--hosts must be an integer >= 1/ },
  ])('$name: one line on stderr, exit 2, no password', async ({ argv, error }) => {
    const r = await doctor(...argv)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(error)
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
    expectNoPassword(r.stderr)
  })
})

describe.each(testDatabases())('kysely-pooled doctor on $dialect ($displayUrl)', (database: TestDatabase) => {
  const admin = database.url

  beforeAll(async () => {
    if (database.dialect === 'postgres') {
      const client = new pg.Client({ connectionString: admin })
      await client.connect()
      try {
        await client.query(`DROP ROLE IF EXISTS ${ROLE}`)
        await client.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${RIGHT_PASSWORD}'`)
      } finally {
        await client.end()
      }
    } else {
      const connection = await mysql.createConnection({ uri: admin })
      try {
        await connection.query(`DROP USER IF EXISTS '${ROLE}'@'%'`)
        await connection.query(`CREATE USER '${ROLE}'@'%' IDENTIFIED BY '${RIGHT_PASSWORD}'`)
      } finally {
        await connection.end()
      }
    }
  })

  afterAll(async () => {
    if (database.dialect === 'postgres') {
      const client = new pg.Client({ connectionString: admin })
      await client.connect()
      await client.query(`DROP ROLE IF EXISTS ${ROLE}`).finally(() => client.end())
    } else {
      const connection = await mysql.createConnection({ uri: admin })
      await connection.query(`DROP USER IF EXISTS '${ROLE}'@'%'`).finally(() => connection.end())
    }
  })

  it('reports version, limits, costs and a recommendation', async () => {
    const r = await doctor(admin, '--samples', '3')
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      database.dialect === 'postgres' ? /server\s+PostgreSQL \d+/ : /server\s+(MariaDB|MySQL) \d+/,
    )
    const max = Number(/max_connections\s+(\d+)/.exec(r.stdout)?.[1])
    expect(max).toBeGreaterThan(0)
    expect(r.stdout).toMatch(/reserved\s+\d+ \(/)
    expect(r.stdout).toMatch(/in use now\s+\d+ client connection/)
    expect(r.stdout).toMatch(/open a connection\s+[\d.]+ ms/)
    expect(r.stdout).toMatch(/run SELECT 1\s+[\d.]+ ms/)
    const recommended = Number(/pool: \{ max: (\d+) \}/.exec(r.stdout)?.[1])
    expect(recommended).toBeGreaterThanOrEqual(1)
    expect(recommended).toBeLessThan(max)
  })

  it('counts the budget of every server given (replicas, failover: one pool per server in each process)', async () => {
    // the same server twice stands in for a primary and its replica
    const r = await doctor(admin, admin, '--samples', '1', '--processes', '2', '--reserved', '10')
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const perServer = [...r.stdout.matchAll(/=> pool: \{ max: (\d+) \}/g)].map((match) => Number(match[1]))
    expect(perServer).toHaveLength(2)
    expect(r.stdout).toContain(
      `2 servers, one pool each per process (replicas, failover): pool: { max: ${Math.min(...perServer)} } fits every server's budget`,
    )
  })

  it('sizes for processes × hosts, capped by --concurrency', async () => {
    const r = await doctor(
      admin,
      '--samples',
      '1',
      '--processes',
      '2',
      '--hosts',
      '3',
      '--reserved',
      '10',
      '--concurrency',
      '4',
    )
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('6 pools (2 processes × 3 hosts)')
    expect(r.stdout).toContain('capped at 4 expected concurrent queries')
    expect(r.stdout).toContain('pool: { max: 4 }')
  })

  it('exits 1 when the processes cannot fit in the server limit', async () => {
    const r = await doctor(admin, '--samples', '1', '--processes', '1000', '--hosts', '10')
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/max_connections/)
    expect(r.stderr).toMatch(/cannot size the pool: the budget of \d+ connections .* cannot give each of 10000 pools/)
  })

  it('never echoes the password of a successful connection', async () => {
    // PostgreSQL here trusts local connections, so the password is not checked; it must still not be printed.
    // The MariaDB user has no grant on the test database: connect without one.
    const database_ = database.dialect === 'mysql' ? '' : undefined
    const r = await doctor(withCredentials(admin, ROLE, RIGHT_PASSWORD, database_), '--samples', '1')
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`${ROLE}@`)
    expectNoPassword(r.stdout)
  })

  it('a refused connection: one line, exit 2, no password', async () => {
    const url = new URL(withCredentials(admin, ROLE, WRONG_PASSWORD))
    url.port = '1' // nothing listens on port 1
    const r = await doctor(url.href, '--timeout', '2000')
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^kysely-pooled doctor: cannot connect to .*: connection refused/)
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
    expectNoPassword(r.stderr)
  })

  if (database.dialect === 'mysql') {
    it('a wrong password: one line, exit 2, no password either way', async () => {
      const r = await doctor(withCredentials(admin, ROLE, WRONG_PASSWORD))
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(new RegExp(`cannot connect to mysql://${ROLE}@.*: Access denied for user '${ROLE}'`))
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
      expectNoPassword(r.stderr)
    })
  } else {
    it('an unknown database: one line, exit 2, no password', async () => {
      const r = await doctor(withCredentials(admin, ROLE, WRONG_PASSWORD, 'kp_cli_no_such_db'))
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(
        new RegExp(`cannot connect to postgres://${ROLE}@.*: database "kp_cli_no_such_db" does not exist`),
      )
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
      expectNoPassword(r.stderr)
    })
  }
})
