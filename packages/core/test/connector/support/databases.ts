import { createRequire } from 'node:module'
import type pg from 'pg'
import type mysql from 'mysql2'
import { mysqlConnector } from '../../../src/connector/mysql-connector.js'
import { postgresConnector } from '../../../src/connector/postgres-connector.js'
import type { ConnectorOptions } from '../../../src/connector/connector-options.js'
import type { ConnectionHandle, Connector } from '../../../src/connector/connector.js'
import type { TestDatabase } from '../../../src/testing/index.js'

const require = createRequire(import.meta.url)
const pgDriver = require('pg') as typeof pg
const mysqlDriver = require('mysql2') as typeof mysql

export type Row = Record<string, unknown>
/** A pg Client or a mysql2 callback Connection. */
export type DriverConnection = pg.Client | mysql.Connection

/** A connector's handle on a driver connection of either dialect. */
export type Handle = ConnectionHandle<DriverConnection>
/** What the helpers below accept: a handle or the driver connection itself. */
export type AnyConnection = DriverConnection | Handle

/** The driver connection behind a handle (or the connection itself). */
export function clientOf(connection: AnyConnection): DriverConnection {
  return typeof (connection as Partial<Handle>).transactionState === 'function'
    ? (connection as Handle).client
    : (connection as DriverConnection)
}

/** The connector for a test database (optionally for another URL of the same dialect). */
export function connectorFor(
  db: TestDatabase,
  url: string = db.url,
  options: ConnectorOptions = {},
): Connector<DriverConnection> {
  return (
    db.dialect === 'postgres' ? postgresConnector(url, options) : mysqlConnector(url, options)
  ) as Connector<DriverConnection>
}

/** Runs one statement on a driver connection of either dialect (`?` placeholders are rewritten to `$n` for pg). */
export function run(
  db: TestDatabase,
  handleOrConnection: AnyConnection,
  sql: string,
  params: unknown[] = [],
): Promise<Row[]> {
  const connection = clientOf(handleOrConnection)
  if (db.dialect === 'postgres') {
    let index = 0
    const text = sql.replace(/\?/g, () => `$${++index}`)
    return (connection as pg.Client).query(text, params).then((result) => result.rows as Row[])
  }
  return new Promise((resolve, reject) => {
    ;(connection as mysql.Connection).query(sql, params, (error, rows) =>
      error ? reject(error) : resolve(rows as Row[]),
    )
  })
}

/** A plain driver connection outside any pool, for setup and for watching from the side. */
export interface Admin {
  query(sql: string, params?: unknown[]): Promise<Row[]>
  close(): Promise<void>
}

export async function openAdmin(db: TestDatabase, url: string = db.url): Promise<Admin> {
  if (db.dialect === 'postgres') {
    const client = new pgDriver.Client({ connectionString: url })
    client.on('error', () => {})
    await client.connect()
    return {
      query: (sql, params = []) => run(db, client, sql, params),
      close: () => client.end().catch(() => {}),
    }
  }
  const connection = mysqlDriver.createConnection({ uri: url })
  connection.on('error', () => {})
  return {
    query: (sql, params = []) => run(db, connection, sql, params),
    close: () => new Promise<void>((resolve) => connection.end(() => resolve())),
  }
}

/** The same URL with another user and password. */
export function urlWithUser(url: string, user: string, password?: string): string {
  const parsed = new URL(url)
  parsed.username = user
  parsed.password = password ?? ''
  return parsed.toString()
}

/** The same URL with another database. */
export function urlWithDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/** The server-side id of a connection: pg backend pid / MySQL thread id. */
export function serverId(db: TestDatabase, handleOrConnection: AnyConnection): number {
  const connection = clientOf(handleOrConnection)
  return db.dialect === 'postgres'
    ? (connection as unknown as { processID: number }).processID
    : ((connection as mysql.Connection).threadId as number)
}

/** Ends a session from the side (pg_terminate_backend / KILL). */
export async function killFromOutside(db: TestDatabase, admin: Admin, id: number): Promise<void> {
  if (db.dialect === 'postgres') await admin.query('SELECT pg_terminate_backend(?)', [id])
  else await admin.query(`KILL ${Number(id)}`)
}

/** Whether the server still has a session with that id. */
export async function sessionExists(db: TestDatabase, admin: Admin, id: number): Promise<boolean> {
  const rows =
    db.dialect === 'postgres'
      ? await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = ?', [id])
      : await admin.query('SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ?', [id])
  return rows.length > 0
}

/** Whether the session with that id is running a statement containing `marker`. */
export async function isRunning(db: TestDatabase, admin: Admin, id: number, marker: string): Promise<boolean> {
  const rows =
    db.dialect === 'postgres'
      ? await admin.query(`SELECT 1 FROM pg_stat_activity WHERE pid = ? AND state = 'active' AND query LIKE ?`, [
          id,
          `%${marker}%`,
        ])
      : await admin.query(`SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE ?`, [
          id,
          `%${marker}%`,
        ])
  return rows.length > 0
}

/**
 * Counts the round trips a connection makes from now on: pg's simple-query
 * and Sync messages, mysql2's commands (query, ping, reset, execute…).
 * Returns a function reading the count.
 */
export function countRoundTrips(
  db: TestDatabase,
  handleOrConnection: AnyConnection,
): { count(): number; statements: string[] } {
  const connection = clientOf(handleOrConnection)
  const statements: string[] = []
  if (db.dialect === 'postgres') {
    const wire = (connection as unknown as { connection: Record<string, (...args: unknown[]) => unknown> }).connection
    const query = wire.query!
    const sync = wire.sync!
    wire.query = function (this: unknown, ...args: unknown[]) {
      statements.push(String(args[0]))
      return query.apply(this, args)
    }
    wire.sync = function (this: unknown, ...args: unknown[]) {
      statements.push('<extended>')
      return sync.apply(this, args)
    }
  } else {
    const target = connection as unknown as {
      addCommand: (command: { sql?: string; constructor: { name: string } }) => unknown
    }
    const addCommand = target.addCommand
    target.addCommand = function (this: unknown, command) {
      statements.push(command.sql ?? command.constructor.name)
      return addCommand.call(this, command)
    }
  }
  return { count: () => statements.length, statements }
}

export function sleep(millis: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, millis))
}

/** Polls `condition` until it holds (generous bound; returns whether it did). */
export async function eventually(
  condition: () => Promise<boolean> | boolean,
  timeoutMillis = 10_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMillis
  while (Date.now() < deadline) {
    if (await condition()) return true
    await sleep(20)
  }
  return false
}
