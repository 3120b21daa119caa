import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import pg from 'pg'

/**
 * A throwaway primary and replica on free loopback ports, made and started
 * by the test (like core's throwaway-servers.ts, which the fault suite
 * uses): PostgreSQL streaming replication (initdb + pg_basebackup -R), or
 * MariaDB GTID replication (log-bin + CHANGE MASTER TO … MASTER_USE_GTID =
 * slave_pos). The machine's own servers are never touched.
 */
export interface ReplicationPair {
  readonly dialect: 'postgres' | 'mysql'
  readonly primary: ReplicaServer
  readonly replica: ReplicaServer
  /** Stops both and removes their datadirs. */
  destroy(): Promise<void>
}

export interface ReplicaServer {
  readonly port: number
  /** The application's URL (PostgreSQL: superuser postgres; MariaDB: a user without SUPER, so `read_only` holds for it). */
  readonly url: string
  /** A superuser URL, for the test's own control statements. */
  readonly adminUrl: string
  readonly running: boolean
  start(): Promise<void>
  stop(): Promise<void>
  /** Runs one statement as the superuser; returns the rows. */
  admin(sql: string): Promise<Record<string, unknown>[]>
}

const READY_TIMEOUT_MILLIS = 30_000

export async function startPostgresReplication(): Promise<ReplicationPair> {
  const bin = postgresBinDir()
  const { uid, gid } = systemUser('postgres')
  const dir = mkdtempSync(join(tmpdir(), 'kp-replication-pg-'))
  chownSync(dir, uid, gid)
  const asPostgres = (command: string, args: string[]): void => {
    const run = spawnSync(join(bin, command), args, { uid, gid, encoding: 'utf8' })
    if (run.status !== 0) throw new Error(`${command} failed: ${run.stderr}`)
  }
  const launch = (data: string, port: number) => () =>
    spawn(
      join(bin, 'postgres'),
      [
        ...['-D', data, '-p', String(port), '-k', dir],
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'shared_buffers=16MB'],
        ...['-c', 'max_connections=60', '-c', 'wal_level=replica', '-c', 'max_wal_senders=5'],
        // The standby reports its replay position often: lag figures stay fresh.
        ...['-c', 'wal_receiver_status_interval=1s', '-c', 'hot_standby=on'],
      ],
      { uid, gid, stdio: 'ignore' },
    )
  try {
    asPostgres('initdb', ['-D', join(dir, 'primary'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'])
    const primaryPort = await freePort()
    const url = (port: number, db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`
    const pgAdmin = (port: number, db: string) => (sql: string) => pgQuery(url(port, db), sql)
    const primary = new Server(primaryPort, url(primaryPort, 'test'), launch(join(dir, 'primary'), primaryPort), () =>
      pgAdmin(primaryPort, 'postgres')('select 1'),
    )
    primary.admin = pgAdmin(primaryPort, 'test')
    await primary.start()
    await pgAdmin(primaryPort, 'postgres')('create database test')
    asPostgres('pg_basebackup', [
      ...['-D', join(dir, 'standby'), '-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres'],
      ...['-R', '-X', 'stream', '--no-sync', '-c', 'fast'],
    ])
    const standbyPort = await freePort()
    const replica = new Server(standbyPort, url(standbyPort, 'test'), launch(join(dir, 'standby'), standbyPort), () =>
      pgAdmin(standbyPort, 'postgres')('select 1'),
    )
    replica.admin = pgAdmin(standbyPort, 'test')
    await replica.start()
    return pair('postgres', primary, replica, dir)
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

export async function startMariadbReplication(): Promise<ReplicationPair> {
  const dir = mkdtempSync(join(tmpdir(), 'kp-replication-mariadb-'))
  const make = async (role: 'primary' | 'replica', serverId: number): Promise<Server> => {
    const home = join(dir, role)
    mkdirSync(home)
    const data = join(home, 'data')
    const install = spawnSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${data}`,
        '--user=root',
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ],
      { encoding: 'utf8' },
    )
    if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`)
    const port = await freePort()
    const adminUrl = `mysql://root@127.0.0.1:${port}/mysql`
    const server = new Server(
      port,
      `mysql://app:app@127.0.0.1:${port}/test`,
      () =>
        spawn(
          'mariadbd',
          [
            '--no-defaults',
            `--datadir=${data}`,
            `--port=${port}`,
            '--bind-address=127.0.0.1',
            `--socket=${join(home, 'mariadb.sock')}`,
            `--pid-file=${join(home, 'mariadb.pid')}`,
            `--log-error=${join(home, 'error.log')}`,
            '--user=root',
            `--server-id=${serverId}`,
            ...(role === 'primary' ? ['--log-bin=mariadb-bin', '--binlog-format=ROW'] : ['--skip-log-bin']),
            ...(role === 'replica' ? ['--read-only=1'] : []),
            '--innodb-buffer-pool-size=16M',
            '--max-connections=80',
            // the replica suite's writing function (a "read" a replica refuses)
            '--log-bin-trust-function-creators=1',
          ],
          { stdio: 'ignore' },
        ),
      () => mysqlQuery(adminUrl, 'select 1'),
    )
    server.admin = (sql) => mysqlQuery(adminUrl, sql)
    server.adminUrl = adminUrl
    await server.start()
    return server
  }
  try {
    const primary = await make('primary', 1)
    const replica = await make('replica', 2)
    // Made on the primary, replicated: the replica gets the database and the user too.
    await primary.admin('create database if not exists test')
    await primary.admin("create user app@'127.0.0.1' identified by 'app'")
    await primary.admin("grant all on test.* to app@'127.0.0.1'")
    // To read Seconds_Behind_Master and the GTID positions (for lag), nothing more.
    await primary.admin("grant slave monitor, binlog monitor on *.* to app@'127.0.0.1'")
    await replica.admin(
      `change master to master_host='127.0.0.1', master_port=${primary.port}, master_user='root', master_password='', master_use_gtid=slave_pos, master_connect_retry=1`,
    )
    await replica.admin('start slave')
    await waitFor(async () => {
      const rows = await replica.admin("select count(*) as n from mysql.user where user = 'app'")
      return Number(rows[0]?.n) === 1
    })
    return pair('mysql', primary, replica, dir)
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

function pair(
  dialect: 'postgres' | 'mysql',
  primary: Server,
  replica: Server,
  dir: string,
): ReplicationPair & { primary: Server; replica: Server } {
  return {
    dialect,
    primary,
    replica,
    async destroy() {
      await Promise.all([replica.stop(), primary.stop()])
      live.delete(primary)
      live.delete(replica)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Every live server, so a process exit kills what a failed test left. */
const live = new Set<Server>()
process.once('exit', () => {
  for (const server of live) server.kill()
})

class Server implements ReplicaServer {
  #process: ChildProcess | undefined
  adminUrl: string
  admin: (sql: string) => Promise<Record<string, unknown>[]> = () => Promise.reject(new Error('no admin'))

  constructor(
    readonly port: number,
    readonly url: string,
    readonly launch: () => ChildProcess,
    readonly probe: () => Promise<unknown>,
  ) {
    this.adminUrl = url
    live.add(this)
  }

  get running(): boolean {
    return this.#process !== undefined
  }

  async start(): Promise<void> {
    if (this.#process !== undefined) return
    const child = this.launch()
    this.#process = child
    child.once('exit', () => {
      if (this.#process === child) this.#process = undefined
    })
    await waitFor(async () => {
      if (this.#process !== child) throw new Error(`server on port ${this.port} exited during start`)
      await this.probe()
      return true
    })
  }

  async stop(): Promise<void> {
    const child = this.#process
    if (child === undefined) return
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', () => resolve())
    })
    // PostgreSQL's fast shutdown is SIGINT; mariadbd shuts down cleanly on SIGTERM (both fine for either).
    child.kill(this.url.startsWith('postgres') ? 'SIGINT' : 'SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
    this.#process = undefined
  }

  kill(): void {
    this.#process?.kill('SIGKILL')
  }
}

/** Polls `check` (errors count as "not yet") until it is true; throws the last error after the timeout. */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MILLIS
  let last: unknown
  for (;;) {
    try {
      if (await check()) return
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${READY_TIMEOUT_MILLIS} ms`, { cause: last })
    // A server starting up: poll, there is nothing to wait on.
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function pgQuery(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.query(sql)).rows as Record<string, unknown>[]
  } finally {
    await client.end().catch(() => {})
  }
}

async function mysqlQuery(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const connection = await mysql.createConnection({ uri: url, connectTimeout: 2_000 })
  connection.on('error', () => {})
  try {
    const [rows] = await connection.query(sql)
    return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : []
  } finally {
    connection.destroy()
  }
}

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  const found = versions.map((version) => join(root, version, 'bin')).find((bin) => existsSync(join(bin, 'initdb')))
  if (found === undefined) throw new Error(`no PostgreSQL binaries under ${root}/*/bin`)
  return found
}

function systemUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`))
  if (line === undefined) throw new Error(`no '${name}' OS user to run the server as`)
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}
