import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type pg from 'pg'
import type mysql from 'mysql2'

const require = createRequire(import.meta.url)

/**
 * A database server of the test's own — a second PostgreSQL cluster or a
 * second mariadbd, in a temporary datadir on a free loopback port — for
 * tests that stop and restart a server. The machine's own servers are never
 * touched. Everything it started is killed and removed by `destroy()`, and
 * at process exit even when a test failed before it got there.
 */
export interface ThrowawayServer {
  readonly dialect: 'postgres' | 'mysql'
  readonly port: number
  /** A superuser URL (no password; trust / empty root password) to a database named `test`. */
  readonly url: string
  readonly running: boolean
  start(): Promise<void>
  /** A clean shutdown (PostgreSQL "fast": sessions are terminated). */
  stop(): Promise<void>
  restart(): Promise<void>
  /** Stops the server (if running) and removes its datadir. Idempotent. */
  destroy(): Promise<void>
}

const READY_TIMEOUT_MILLIS = 20_000
const STOP_TIMEOUT_MILLIS = 10_000

/** A PostgreSQL cluster made by `initdb`, run as the `postgres` OS user (root cannot run postgres). */
export async function startThrowawayPostgres(): Promise<ThrowawayServer> {
  const bin = postgresBinDir()
  const { uid, gid } = systemUser('postgres')
  const dir = mkdtempSync(join(tmpdir(), 'kp-throwaway-pg-'))
  chownSync(dir, uid, gid)
  const data = join(dir, 'data')
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions', '-E', 'UTF8'],
    {
      uid,
      gid,
      encoding: 'utf8',
    },
  )
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`initdb failed: ${init.stderr}`)
  }
  const port = await freePort()
  const server = new Throwaway('postgres', port, `postgres://postgres@127.0.0.1:${port}/test`, dir, () =>
    spawn(
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'max_connections=30',
        '-c',
        'shared_buffers=16MB',
      ],
      { uid, gid, stdio: 'ignore' },
    ),
  )
  await server.start()
  await adminQuery('postgres', `postgres://postgres@127.0.0.1:${port}/postgres`, 'CREATE DATABASE test')
  return server
}

/** A MariaDB server made by `mariadb-install-db`, with its own datadir, port and socket. */
export async function startThrowawayMariadb(): Promise<ThrowawayServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kp-throwaway-mariadb-'))
  const data = join(dir, 'data')
  const install = spawnSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${data}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'],
    { encoding: 'utf8' },
  )
  if (install.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`mariadb-install-db failed: ${install.stderr}`)
  }
  const port = await freePort()
  const server = new Throwaway('mysql', port, `mysql://root@127.0.0.1:${port}/test`, dir, () =>
    spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(dir, 'mariadb.sock')}`,
        `--pid-file=${join(dir, 'mariadb.pid')}`,
        `--log-error=${join(dir, 'error.log')}`,
        '--user=root',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=16M',
        '--max-connections=30',
      ],
      { stdio: 'ignore' },
    ),
  )
  await server.start()
  await adminQuery('mysql', `mysql://root@127.0.0.1:${port}/mysql`, 'CREATE DATABASE IF NOT EXISTS test')
  return server
}

/** Every live throwaway, so that a process exit cleans up what a failed test left. */
const live = new Set<Throwaway>()
let exitHookInstalled = false

class Throwaway implements ThrowawayServer {
  #process: ChildProcess | undefined = undefined
  #destroyed = false

  constructor(
    readonly dialect: 'postgres' | 'mysql',
    readonly port: number,
    readonly url: string,
    readonly dir: string,
    readonly launch: () => ChildProcess,
  ) {
    live.add(this)
    if (!exitHookInstalled) {
      exitHookInstalled = true
      process.once('exit', () => {
        for (const server of live) server.destroySync()
      })
    }
  }

  get running(): boolean {
    return this.#process !== undefined
  }

  async start(): Promise<void> {
    if (this.#destroyed) throw new Error('the throwaway server was destroyed')
    if (this.#process !== undefined) return
    const child = this.launch()
    this.#process = child
    child.once('exit', () => {
      if (this.#process === child) this.#process = undefined
    })
    const deadline = Date.now() + READY_TIMEOUT_MILLIS
    for (;;) {
      if (this.#process !== child)
        throw new Error(`${this.dialect} throwaway server exited during start${this.#logTail()}`)
      try {
        await adminQuery(
          this.dialect,
          this.url.replace(/\/test$/, this.dialect === 'postgres' ? '/postgres' : '/mysql'),
          'SELECT 1',
        )
        return
      } catch (error) {
        if (Date.now() > deadline) {
          await this.stop()
          throw new Error(
            `${this.dialect} throwaway server not ready after ${READY_TIMEOUT_MILLIS} ms${this.#logTail()}`,
            { cause: error },
          )
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }

  async stop(): Promise<void> {
    const child = this.#process
    if (child === undefined) return
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', () => resolve())
    })
    // PostgreSQL: SIGINT is the fast shutdown; mariadbd shuts down cleanly on SIGTERM.
    child.kill(this.dialect === 'postgres' ? 'SIGINT' : 'SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MILLIS)
    await exited
    clearTimeout(timer)
    this.#process = undefined
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return
    await this.stop()
    this.#destroyed = true
    rmSync(this.dir, { recursive: true, force: true })
    live.delete(this)
  }

  /** At process exit: no awaiting, just kill and remove. */
  destroySync(): void {
    this.#process?.kill('SIGKILL')
    this.#process = undefined
    this.#destroyed = true
    rmSync(this.dir, { recursive: true, force: true })
  }

  #logTail(): string {
    const log = join(this.dir, 'error.log')
    return existsSync(log) ? `: ${readFileSync(log, 'utf8').split('\n').slice(-5).join(' | ')}` : ''
  }
}

async function adminQuery(dialect: 'postgres' | 'mysql', url: string, sql: string): Promise<void> {
  if (dialect === 'postgres') {
    const { Client } = require('pg') as typeof pg
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query(sql)
    } finally {
      await client.end().catch(() => {})
    }
    return
  }
  const driver = require('mysql2') as typeof mysql
  const connection = driver.createConnection({ uri: url, connectTimeout: 2_000 })
  connection.on('error', () => {})
  try {
    await new Promise<void>((resolve, reject) => connection.query(sql, (error) => (error ? reject(error) : resolve())))
  } finally {
    connection.destroy()
    ;(connection as unknown as { stream: { destroy(): void } }).stream.destroy()
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

/** A port free on 127.0.0.1 right now (the OS picks it). */
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
