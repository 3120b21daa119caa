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
