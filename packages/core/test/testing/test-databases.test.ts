import { describe, expect, it } from 'vitest'
import {
  DEFAULT_MYSQL_URL,
  DEFAULT_PG_URL,
  answersTcp,
  redactSecret,
  redactUrl,
  assertAvailable,
  pgbouncerTarget,
  startTestDatabases,
  testDatabases,
  testTargets,
} from '../../src/testing/index.js'

describe('testDatabases', () => {
  it('uses the local defaults when PG_URL and MYSQL_URL are unset', () => {
    expect(testDatabases({})).toEqual([
      { dialect: 'postgres', url: DEFAULT_PG_URL, displayUrl: DEFAULT_PG_URL },
      { dialect: 'mysql', url: DEFAULT_MYSQL_URL, displayUrl: DEFAULT_MYSQL_URL },
    ])
  })

  it('prefers the environment and hides its passwords in displayUrl', () => {
    const [pg, mysql] = testDatabases({
      PG_URL: 'postgres://app:s3cret@db.example:6543/app',
      MYSQL_URL: ' mysql://root:hunter2@maria:3307/x ',
    })
    expect(pg).toEqual({
      dialect: 'postgres',
      url: 'postgres://app:s3cret@db.example:6543/app',
      displayUrl: 'postgres://app@db.example:6543/app',
    })
    expect(mysql?.url).toBe('mysql://root:hunter2@maria:3307/x')
    expect(mysql?.displayUrl).toBe('mysql://root@maria:3307/x')
  })

  it('treats an empty variable as unset', () => {
    expect(testDatabases({ PG_URL: '', MYSQL_URL: '  ' }).map((db) => db.url)).toEqual([
      DEFAULT_PG_URL,
      DEFAULT_MYSQL_URL,
    ])
  })

  it('returns frozen entries', () => {
    expect(Object.isFrozen(testDatabases({})[0])).toBe(true)
  })
})

describe('testTargets', () => {
  it('adds PostgreSQL through PgBouncer (transaction mode) to the two databases', () => {
    const targets = testTargets({ PGBOUNCER_URL: 'postgres://app:pw@127.0.0.1:6432/app' })
    expect(targets.map((t) => [t.target, t.dialect, t.pooler])).toEqual([
      ['postgres', 'postgres', 'none'],
      ['mysql', 'mysql', 'none'],
      ['pgbouncer', 'postgres', 'transaction'],
    ])
    expect(targets[2]).toMatchObject({
      url: 'postgres://app:pw@127.0.0.1:6432/app',
      displayUrl: 'postgres://app@127.0.0.1:6432/app',
    })
    expect(() => assertAvailable(targets[2]!)).not.toThrow()
  })

  it('keeps the PgBouncer target when it cannot run, and makes it fail saying why (never a silent skip)', () => {
    const missing = pgbouncerTarget({
      KP_PGBOUNCER_UNAVAILABLE: 'pgbouncer is not installed: apt-get install -y pgbouncer',
    })
    expect(missing.unavailable).toContain('apt-get install -y pgbouncer')
    expect(() => assertAvailable(missing)).toThrow('the pgbouncer test target cannot run: pgbouncer is not installed')
    expect(pgbouncerTarget({}).unavailable).toContain('PGBOUNCER_URL is not set')
  })
})

describe('redactUrl', () => {
  it.each([
    ['postgres://app:pw@127.0.0.1:5432/app', 'postgres://app@127.0.0.1:5432/app'],
    ['postgres://app@127.0.0.1:5432/app', 'postgres://app@127.0.0.1:5432/app'],
    ['mysql://u:p%40ss@h/db?password=other&ssl=1', 'mysql://u@h/db?password=***&ssl=1'],
    ['postgres://127.0.0.1/db?sslpassword=x', 'postgres://127.0.0.1/db?sslpassword=***'],
  ])('%s → %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected)
  })

  it('scrubs a URL whose password the parser split (an unencoded / or #)', () => {
    const redacted = redactUrl('postgres://app:pa ss@wo/rd@host:5432/db')
    expect(redacted).not.toContain('pa ss')
    expect(redacted).not.toContain('rd')
    expect(redactUrl('postgres://app:12#34@host/db')).not.toContain('34')
  })

  it('keeps only the scheme of a URL that does not parse', () => {
    expect(redactUrl('postgres://app:secret@host:notaport/db')).toBe('postgres://***')
  })

  // Issue 16 item 7: a literal '@' in ?password= used to cut the text at the last '@'.
  it.each([
    ['postgres://postgres@127.0.0.1:5432/nope?password=Kp6Xr2Nm@Qw7Zt5Ly', 'Kp6Xr2Nm@Qw7Zt5Ly'],
    ['postgres://postgres@127.0.0.1:5432/nope?password=Kp6Xr2Nm%40Qw7Zt5Ly', 'Kp6Xr2Nm@Qw7Zt5Ly'],
    ['postgres://postgres:Kp6Xr2Nm@Qw7Zt5Ly@127.0.0.1:5432/nope', 'Kp6Xr2Nm@Qw7Zt5Ly'],
    ['postgres://postgres:Kp6Xr2Nm%40Qw7Zt5Ly@127.0.0.1:5432/nope', 'Kp6Xr2Nm@Qw7Zt5Ly'],
    ['mysql://root@127.0.0.1:3306/nope?password1=Kp6Xr2Nm@Qw7Zt5Ly', 'Kp6Xr2Nm@Qw7Zt5Ly'],
    ['mysql://root@127.0.0.1:3306/nope?password=Kp6Xr2Nm@Qw7Zt5Ly&ssl=1', 'Kp6Xr2Nm@Qw7Zt5Ly'],
  ])('%s keeps no 3 characters of the password, and keeps the target', (input, password) => {
    const redacted = redactUrl(input)
    for (const piece of [password, ...password.split('@')]) {
      for (let i = 0; i + 3 <= piece.length; i++) expect(redacted).not.toContain(piece.slice(i, i + 3))
    }
    expect(redacted).toContain('127.0.0.1')
    expect(redacted).toContain('/nope')
  })

  it('scrubs key=value passwords in a non-URL string', () => {
    expect(redactUrl('host=x password=hunter2 user=y')).toBe('host=x password=*** user=y')
  })
})

describe('redactSecret', () => {
  it('removes the secret and its URL-encoded form', () => {
    expect(redactSecret('a p@ss b p%40ss c', 'p@ss')).toBe('a *** b *** c')
    expect(redactSecret('nothing here', undefined)).toBe('nothing here')
  })
})

describe('startTestDatabases', () => {
  it('uses the environment as is, without probing or starting anything', async () => {
    const env = { PG_URL: 'postgres://nobody:pw@127.0.0.1:1/none', MYSQL_URL: 'mysql://nobody@127.0.0.1:1/none' }
    const started = await startTestDatabases({ env })
    expect(started.databases.map((db) => db.displayUrl)).toEqual([
      'postgres://nobody@127.0.0.1:1/none',
      'mysql://nobody@127.0.0.1:1/none',
    ])
    await started.stop()
    expect(env.PG_URL).toBe('postgres://nobody:pw@127.0.0.1:1/none')
  })

  it('uses a local default that answers and tells the workers', async () => {
    const env: NodeJS.ProcessEnv = {}
    const started = await startTestDatabases({ env, dialects: ['postgres'], probeTimeoutMillis: 2_000 })
    expect(started.databases).toEqual([{ dialect: 'postgres', url: DEFAULT_PG_URL, displayUrl: DEFAULT_PG_URL }])
    expect(env.PG_URL).toBe(DEFAULT_PG_URL)
    await started.stop()
  })

  it('says in one paragraph how to get a database when none answers and containers cannot start', async () => {
    // testcontainers is not a dependency of core, so the fallback cannot load here.
    const env: NodeJS.ProcessEnv = {}
    const error = (await startTestDatabases({
      env,
      dialects: ['mysql'],
      localUrls: { mysql: 'mysql://root:kp-local-secret@127.0.0.1:1/test' },
    }).catch((e: unknown) => e)) as Error
    expect(error).toBeInstanceOf(Error)
    expect(error.message).toMatch(
      /^No MySQL\/MariaDB test database: MYSQL_URL is not set, nothing answers at mysql:\/\/root@127\.0\.0\.1:1\/test/,
    )
    expect(error.message).toMatch(/set MYSQL_URL/)
    expect(error.message).toMatch(/install testcontainers/)
    expect(error.message).not.toContain('kp-local-secret')
    expect(error.message).not.toContain('\n')
    expect(env.MYSQL_URL).toBeUndefined()
  })
})

describe('answersTcp', () => {
  it('is false for a refused port and true for a listening server', async () => {
    expect(await answersTcp('postgres://127.0.0.1:1/x', 1_000)).toBe(false)
    expect(await answersTcp(DEFAULT_MYSQL_URL, 2_000)).toBe(true)
  })
})
