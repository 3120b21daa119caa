import { redactUrl } from '../connector/redact-url.js'

export type TestDialect = 'postgres' | 'mysql'

export interface TestDatabase {
  readonly dialect: TestDialect
  /** The connection URL, password included: pass it to a connector. */
  readonly url: string
  /** The same URL without a password: use it in test names and messages. */
  readonly displayUrl: string
}

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test'
export const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306/test'

/** The environment variable that overrides each dialect's default URL. */
export const TEST_URL_VARIABLES: Readonly<Record<TestDialect, string>> = Object.freeze({
  postgres: 'PG_URL',
  mysql: 'MYSQL_URL',
})

export const DEFAULT_TEST_URLS: Readonly<Record<TestDialect, string>> = Object.freeze({
  postgres: DEFAULT_PG_URL,
  mysql: DEFAULT_MYSQL_URL,
})

export const TEST_DIALECTS: readonly TestDialect[] = Object.freeze(['postgres', 'mysql'])

/**
 * The databases tests run against: `PG_URL` / `MYSQL_URL` when set (a
 * vitest globalSetup calling `startTestDatabases()` sets them for the
 * workers), else the local defaults. Synchronous, so it can feed
 * `describe.each(testDatabases())`.
 */
export function testDatabases(env: NodeJS.ProcessEnv = process.env): TestDatabase[] {
  return TEST_DIALECTS.map((dialect) => testDatabase(dialect, env))
}

/** One dialect's test database, resolved like `testDatabases()`. */
export function testDatabase(dialect: TestDialect, env: NodeJS.ProcessEnv = process.env): TestDatabase {
  const fromEnv = env[TEST_URL_VARIABLES[dialect]]
  const url = fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv.trim() : DEFAULT_TEST_URLS[dialect]
  return Object.freeze({ dialect, url, displayUrl: redactUrl(url) })
}

/** Where a test target's statements go: straight to the server, or through PgBouncer. */
export type TestTargetName = 'postgres' | 'mysql' | 'pgbouncer'

/**
 * A test database as a target of the cross-database suite. The PgBouncer
 * target is PostgreSQL through PgBouncer in transaction mode (`dialect` is
 * `'postgres'`, `pooler` is `'transaction'`): connect with
 * `postgresConnector(url, { pooler: target.pooler })`.
 */
export interface TestTarget extends TestDatabase {
  readonly target: TestTargetName
  /** The `pooler` option the target needs. */
  readonly pooler: 'none' | 'transaction'
  /**
   * Set when the target cannot run here, saying why and how to fix it. Tests
   * must fail with it (`assertAvailable`), never skip: in CI it must run.
   */
  readonly unavailable?: string
}

/** The variable holding the PgBouncer target's URL (a PgBouncer in transaction mode in front of PG_URL's server). */
export const PGBOUNCER_URL_VARIABLE = 'PGBOUNCER_URL'
/** Why the globalSetup could not provide a PgBouncer, for the target's failure message. */
export const PGBOUNCER_UNAVAILABLE_VARIABLE = 'KP_PGBOUNCER_UNAVAILABLE'

/** PostgreSQL through PgBouncer (transaction mode), from `PGBOUNCER_URL`. */
export function pgbouncerTarget(env: NodeJS.ProcessEnv = process.env): TestTarget {
  const url = (env[PGBOUNCER_URL_VARIABLE] ?? '').trim()
  if (url === '') {
    const reason =
      env[PGBOUNCER_UNAVAILABLE_VARIABLE] ??
      'PGBOUNCER_URL is not set (the repo’s vitest globalSetup starts a PgBouncer when pgbouncer is installed: apt-get install -y pgbouncer)'
    return Object.freeze({
      dialect: 'postgres',
      url: '',
      displayUrl: 'pgbouncer (unavailable)',
      target: 'pgbouncer',
      pooler: 'transaction',
      unavailable: reason,
    })
  }
  return Object.freeze({
    dialect: 'postgres',
    url,
    displayUrl: redactUrl(url),
    target: 'pgbouncer',
    pooler: 'transaction',
  })
}

/**
 * Every target of the cross-database suite: PostgreSQL, MySQL/MariaDB, and
 * PostgreSQL through PgBouncer in transaction mode.
 * `describe.each(testTargets())('… on $target', …)`.
 */
export function testTargets(env: NodeJS.ProcessEnv = process.env): TestTarget[] {
  return [
    ...testDatabases(env).map((db): TestTarget => Object.freeze({ ...db, target: db.dialect, pooler: 'none' })),
    pgbouncerTarget(env),
  ]
}

/** Throws the target's `unavailable` reason: call it in the target's `beforeAll`. */
export function assertAvailable(target: TestTarget): void {
  if (target.unavailable !== undefined) {
    throw new Error(`the ${target.target} test target cannot run: ${target.unavailable}`)
  }
}
