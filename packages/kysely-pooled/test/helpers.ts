import type { PoolOptions } from '@kysely-pooled/core'
import { testDatabase, type TestDatabase, type TestTarget } from '@kysely-pooled/core/testing'
import { MysqlDialect, PostgresDialect, type Dialect } from 'kysely'
import { PooledMysqlDialect, PooledPostgresDialect, type PooledPostgresDialectConfig } from 'kysely-pooled'
import mysql from 'mysql2'
import pg from 'pg'
import Cursor from 'pg-cursor'

/** The Kysely release line this project runs on (see vitest.project.ts). */
export const kyselyLine = process.env.KP_KYSELY_LINE === '0.28' ? '0.28' : '0.29'

/** The suite's pipeline variant: PooledPostgresDialect({ pipeline: true }) wherever the tests make our Postgres dialect. */
export const pipelineVariant = process.env.KP_PIPELINE === '1'

/** Names of the run's own objects: the Kysely line, and `p` in the pipeline variant. */
export const variantTag = `${kyselyLine.replace('.', '')}${pipelineVariant ? 'p' : ''}`

/** Abort signals (`{ signal }`, `'cancel query'`, `'kill session'`) arrived in kysely 0.29. */
export const abortSupported = kyselyLine === '0.29'

/**
 * A schema (PostgreSQL) or database (MySQL) of the test's own, so test files
 * — and the two Kysely projects — run at once against the same servers
 * without sharing a table. Plain table names resolve into it.
 */
export interface TestSchema {
  readonly database: TestDatabase
  readonly name: string
  /** The connection settings for a dialect, pointing into the schema. */
  readonly connection: string | pg.ClientConfig
  drop(): Promise<void>
}

/** The PgBouncer target (PostgreSQL through PgBouncer in transaction mode). */
export function isPgBouncer(database: TestDatabase): boolean {
  return (database as Partial<TestTarget>).target === 'pgbouncer'
}

export async function createTestSchema(database: TestDatabase, tag: string): Promise<TestSchema> {
  // A MySQL database name is server-wide: it carries the test run's own
  // database name, so runs pointed at different databases never share one.
  const base = new URL(database.url).pathname.slice(1).replace(/\W/g, '_') || 'test'
  const name = `kp_${base}_${variantTag}_${tag}`
  if (isPgBouncer(database)) {
    // A transaction pooler cannot carry a session's search_path (PgBouncer
    // refuses the `options` startup parameter): a database of its own instead,
    // created on the server directly, reached through PgBouncer's `*` entry.
    const server = testDatabase('postgres')
    const own = `${new URL(server.url).pathname.slice(1) || 'test'}_${name}`.slice(0, 63)
    const dropOwn = () =>
      withPgClient(server.url, (client) => client.query(`drop database if exists ${own} with (force)`))
    await dropOwn()
    await withPgClient(server.url, (client) => client.query(`create database ${own}`))
    const url = new URL(database.url)
    url.pathname = `/${own}`
    // Tables land in the new database's public schema.
    return { database, name: 'public', connection: url.toString(), drop: dropOwn }
  }
  if (database.dialect === 'postgres') {
    await withPgClient(database.url, async (client) => {
      await client.query(`drop schema if exists ${name} cascade`)
      await client.query(`create schema ${name}`)
    })
    return {
      database,
      name,
      connection: { connectionString: database.url, options: `-c search_path=${name}` },
      drop: () => withPgClient(database.url, (client) => client.query(`drop schema if exists ${name} cascade`)),
    }
  }
  await withMysqlConnection(database.url, async (connection) => {
    await connection.query(`drop database if exists ${name}`)
    await connection.query(`create database ${name}`)
  })
  const url = new URL(database.url)
  url.pathname = `/${name}`
  return {
    database,
    name,
    connection: url.toString(),
    drop: () => withMysqlConnection(database.url, (connection) => connection.query(`drop database if exists ${name}`)),
  }
}

export interface PooledDialectOptions {
  readonly pool?: PoolOptions
  readonly onCreateConnection?: PooledPostgresDialectConfig['onCreateConnection']
  readonly onReserveConnection?: PooledPostgresDialectConfig['onReserveConnection']
  readonly destroyGraceMillis?: number
  readonly statementTimeoutMillis?: number
}

/** Our dialect for the schema's database (with pg-cursor on Postgres). */
export function pooledDialect(
  schema: TestSchema,
  options: PooledDialectOptions = {},
): PooledPostgresDialect | PooledMysqlDialect {
  const pool: PoolOptions = { max: 4, acquireTimeoutMillis: 5_000, ...options.pool }
  if (schema.database.dialect === 'postgres') {
    const pooler = isPgBouncer(schema.database) ? 'transaction' : undefined
    return new PooledPostgresDialect({
      ...options,
      connection: schema.connection,
      pool,
      cursor: Cursor,
      pooler,
      pipeline: pipelineVariant,
    })
  }
  return new PooledMysqlDialect({ ...options, connection: schema.connection as string, pool })
}

/** Kysely's stock dialect for the same database, for result parity. */
export function stockDialect(schema: TestSchema): Dialect {
  if (schema.database.dialect === 'postgres') {
    return new PostgresDialect({
      pool: new pg.Pool({ ...(schema.connection as pg.ClientConfig), max: 2 }),
      cursor: Cursor,
    })
  }
  return new MysqlDialect({ pool: mysql.createPool({ uri: schema.connection as string, connectionLimit: 2 }) })
}

/** Polls `check` until it holds; fails with `what` after `timeoutMillis`. */
export async function eventually(check: () => boolean, what: string, timeoutMillis = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMillis
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function withPgClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<void> {
  const client = new pg.Client(url)
  await client.connect()
  try {
    await work(client)
  } finally {
    await client.end()
  }
}

async function withMysqlConnection<T>(
  url: string,
  work: (connection: ReturnType<ReturnType<typeof mysql.createConnection>['promise']>) => Promise<T>,
): Promise<void> {
  const connection = mysql.createConnection(url).promise()
  try {
    await work(connection)
  } finally {
    await connection.end()
  }
}
