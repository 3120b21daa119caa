import { connect } from 'node:net'
import { redactUrl } from '../connector/redact-url.js'
import {
  DEFAULT_TEST_URLS,
  TEST_DIALECTS,
  TEST_URL_VARIABLES,
  testDatabase,
  type TestDatabase,
  type TestDialect,
} from './test-databases.js'

export interface StartedTestDatabases {
  readonly databases: TestDatabase[]
  /** Stops the containers this call started (none when the databases were already there). */
  stop(): Promise<void>
}

export interface StartTestDatabasesOptions {
  /** Which dialects to provide. Default: both. */
  readonly dialects?: readonly TestDialect[]
  /** How long the TCP probe of a local default waits. Default 500 ms. */
  readonly probeTimeoutMillis?: number
  /** Where the resolved URLs are written for the test workers. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv
  /** The local servers to probe before starting containers. Default `DEFAULT_PG_URL` / `DEFAULT_MYSQL_URL`. */
  readonly localUrls?: Partial<Readonly<Record<TestDialect, string>>>
}

/**
 * Finds or starts the test databases, for a vitest `globalSetup`:
 *
 * 1. `PG_URL` / `MYSQL_URL` set: used as they are.
 * 2. else the local default answers a TCP probe: used.
 * 3. else a container is started with testcontainers (an optional
 *    dependency of the caller, imported only here) and its URL is written to
 *    `PG_URL` / `MYSQL_URL` so the workers' `testDatabases()` see it.
 * 4. else one error saying how to provide a database.
 *
 * ```ts
 * // vitest.global-setup.ts
 * import { startTestDatabases } from '@kysely-pooled/core/testing'
 * export default async () => (await startTestDatabases()).stop
 * ```
 */
export async function startTestDatabases(options: StartTestDatabasesOptions = {}): Promise<StartedTestDatabases> {
  const env = options.env ?? process.env
  const dialects = options.dialects ?? TEST_DIALECTS
  const probeTimeoutMillis = options.probeTimeoutMillis ?? 500
  const stoppers: Array<() => Promise<void>> = []
  const stop = async (): Promise<void> => {
    await Promise.allSettled(stoppers.splice(0).map((stopOne) => stopOne()))
  }

  try {
    const databases = await Promise.all(
      dialects.map(async (dialect) => {
        const variable = TEST_URL_VARIABLES[dialect]
        if (env[variable] !== undefined && env[variable]!.trim() !== '') {
          return testDatabase(dialect, env)
        }
        const localUrl = options.localUrls?.[dialect] ?? DEFAULT_TEST_URLS[dialect]
        if (await answersTcp(localUrl, probeTimeoutMillis)) {
          env[variable] = localUrl
          return testDatabase(dialect, env)
        }
        const started = await startContainer(dialect, localUrl)
        stoppers.push(started.stop)
        env[variable] = started.url
        return testDatabase(dialect, env)
      }),
    )
    return { databases, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** Resolves true when something accepts a TCP connection at the URL's host and port. */
export function answersTcp(url: string, timeoutMillis: number): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) })
    const finish = (answered: boolean): void => {
      socket.destroy()
      resolve(answered)
    }
    socket.setTimeout(timeoutMillis, () => finish(false))
    socket.once('connect', () => finish(true))
    socket.once('error', () => finish(false))
  })
}

interface StartedContainer {
  readonly url: string
  stop(): Promise<void>
}

// The shapes we use from testcontainers. Declared here because core must not
// depend on testcontainers: it is loaded only when no database is reachable.
interface ContainerHandle {
  getConnectionUri(isRoot?: boolean): string
  stop(): Promise<unknown>
}
interface PostgresModule {
  PostgreSqlContainer: new (image: string) => {
    withDatabase(name: string): { withUsername(name: string): { start(): Promise<ContainerHandle> } }
  }
}
interface MysqlModule {
  MySqlContainer: new (image: string) => {
    withDatabase(name: string): { start(): Promise<ContainerHandle> }
  }
}

const CONTAINER_IMAGES: Readonly<Record<TestDialect, string>> = Object.freeze({
  postgres: 'postgres:15-alpine',
  mysql: 'mariadb:10.11',
})

async function startContainer(dialect: TestDialect, localUrl: string): Promise<StartedContainer> {
  let container: ContainerHandle
  try {
    if (dialect === 'postgres') {
      const { PostgreSqlContainer } = await importOptional<PostgresModule>('@testcontainers/postgresql')
      container = await new PostgreSqlContainer(CONTAINER_IMAGES.postgres)
        .withDatabase('test')
        .withUsername('postgres')
        .start()
    } else {
      const { MySqlContainer } = await importOptional<MysqlModule>('@testcontainers/mysql')
      container = await new MySqlContainer(CONTAINER_IMAGES.mysql).withDatabase('test').start()
    }
  } catch (error) {
    throw new Error(noDatabaseMessage(dialect, localUrl, error), { cause: error })
  }
  return {
    // Root on MySQL: the tests create users and roles.
    url: container.getConnectionUri(dialect === 'mysql' ? true : undefined),
    stop: async () => {
      await container.stop()
    },
  }
}

async function importOptional<M>(specifier: string): Promise<M> {
  try {
    // A variable specifier keeps bundlers and tsc from resolving the module.
    const name: string = specifier
    return (await import(name)) as M
  } catch (error) {
    throw new Error(
      `the optional module '${specifier}' is not installed (add testcontainers and ${specifier} to your devDependencies)`,
      {
        cause: error,
      },
    )
  }
}

function noDatabaseMessage(dialect: TestDialect, localUrl: string, error: unknown): string {
  const variable = TEST_URL_VARIABLES[dialect]
  const reason = error instanceof Error ? error.message : String(error)
  return (
    `No ${dialect === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'} test database: ${variable} is not set, ` +
    `nothing answers at ${redactUrl(localUrl)}, and starting a container with ` +
    `testcontainers failed (${reason}). Either start a local server at that address, set ${variable} ` +
    `to a database the tests may create objects in (e.g. ${variable}=${redactUrl(DEFAULT_TEST_URLS[dialect])}), ` +
    `or install testcontainers and make a Docker engine reachable.`
  )
}
