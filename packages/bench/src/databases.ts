import mysql from 'mysql2'
import pg from 'pg'
import type { DatabaseId } from './settings.js'

/** A database the bench runs against (loopback only). */
export interface DatabaseTarget {
  readonly id: DatabaseId
  readonly label: string
  readonly url: string
}

/** The Kysely schema of the one table the bench reads and updates. */
export interface BenchDatabase {
  kp_bench_item: {
    id: number
    name: string
    price: number
  }
}

/** Rows in kp_bench_item; point selects and updates pick ids uniformly in [1, ITEM_COUNT]. */
export const ITEM_COUNT = 1_000

export function databaseTarget(id: DatabaseId): DatabaseTarget {
  if (id === 'postgres') {
    return { id, label: 'PostgreSQL', url: process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test' }
  }
  return { id, label: 'MariaDB', url: process.env['MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test' }
}

/** The URL with any password removed, for the report. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) {
      parsed.password = '***'
    }
    return parsed.toString()
  } catch {
    return '(unparseable url)'
  }
}

/** Refuses to benchmark anything but loopback: the numbers would mean something else. */
export function assertLoopback(target: DatabaseTarget): void {
  const host = new URL(target.url).hostname
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
    throw new Error(`${target.label}: the bench runs on loopback only, got host ${host}`)
  }
}

/** Creates and fills kp_bench_item if needed; returns the server version. */
export async function prepareDatabase(target: DatabaseTarget): Promise<string> {
  return target.id === 'postgres' ? preparePostgres(target.url) : prepareMariadb(target.url)
}

async function preparePostgres(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(
      'create table if not exists kp_bench_item (id integer primary key, name varchar(100) not null, price integer not null)',
    )
    await client.query(
      `insert into kp_bench_item (id, name, price)
       select g, 'item ' || g, g from generate_series(1, ${ITEM_COUNT}) g
       on conflict (id) do nothing`,
    )
    const { rows } = await client.query<{ server_version: string }>('show server_version')
    return `PostgreSQL ${rows[0]?.server_version ?? '?'}`
  } finally {
    await client.end()
  }
}

async function prepareMariadb(url: string): Promise<string> {
  const connection = mysql.createConnection({ uri: url, multipleStatements: false }).promise()
  try {
    await connection.query(
      'create table if not exists kp_bench_item (id int primary key, name varchar(100) not null, price int not null) engine=InnoDB',
    )
    const values: string[] = []
    for (let id = 1; id <= ITEM_COUNT; id++) {
      values.push(`(${id}, 'item ${id}', ${id})`)
    }
    await connection.query(`insert ignore into kp_bench_item (id, name, price) values ${values.join(',')}`)
    const [rows] = await connection.query('select version() as version')
    const version = (rows as Array<{ version: string }>)[0]?.version ?? '?'
    return version.toLowerCase().includes('mariadb') ? `MariaDB ${version}` : `MySQL ${version}`
  } finally {
    await connection.end()
  }
}

/** Uniform ids; a tiny xorshift so every contender draws the same cheap sequence. */
export function idSequence(seed = 12345): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return (state % ITEM_COUNT) + 1
  }
}
