import { execFile } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testDatabase } from '@kysely-pooled/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * The packages as a user gets them: `pnpm pack` both (from a copy of the
 * sources without `dist`, so `prepack` must build), install the tarballs
 * with kysely and one driver from the registry into throwaway projects
 * outside the workspace, then run an ESM app, a CommonJS `require`, a strict
 * `tsc --noEmit` without `@types/pg`, and publint on both tarballs.
 */

const repo = fileURLToPath(new URL('../../../', import.meta.url))
const PACKAGES = ['core', 'kysely-pooled'] as const
// npm's cache outlives the run: reruns install from it.
const NPM_CACHE = join(tmpdir(), 'kysely-pooled-npm-cache')
const INSTALL_TIMEOUT_MILLIS = 240_000

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  timeout = 120_000,
  env: NodeJS.ProcessEnv = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      { cwd, timeout, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
        resolve({
          code,
          stdout,
          stderr: error !== null && error.killed ? `${stderr}\n(killed after ${timeout} ms)` : stderr,
        })
      },
    )
  })
}

async function ok(
  command: string,
  args: readonly string[],
  cwd: string,
  timeout?: number,
  env?: NodeJS.ProcessEnv,
): Promise<string> {
  const result = await run(command, args, cwd, timeout, env)
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
    )
  }
  return result.stdout
}

/** A copy of the workspace with the two packages' sources and no build output; node_modules linked. */
function copyWorkspace(into: string): void {
  for (const file of ['package.json', 'pnpm-workspace.yaml', 'tsconfig.base.json']) {
    cpSync(join(repo, file), join(into, file))
  }
  symlinkSync(join(repo, 'node_modules'), join(into, 'node_modules'), 'dir')
  for (const name of PACKAGES) {
    const from = join(repo, 'packages', name)
    const to = join(into, 'packages', name)
    mkdirSync(to, { recursive: true })
    for (const entry of readdirSync(from)) {
      if (entry === 'node_modules' || entry === 'dist' || entry === 'test' || entry.startsWith('vitest')) continue
      cpSync(join(from, entry), join(to, entry), { recursive: true })
    }
    symlinkSync(join(from, 'node_modules'), join(to, 'node_modules'), 'dir')
  }
}

const APP_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    // Our .d.ts files are checked too: a reference to `pg` or `mysql2` types would fail here.
    skipLibCheck: false,
    noEmit: true,
    types: ['node'],
  },
  include: ['app.ts'],
}

/** A strict, typed app that uses only its own database's dialect and the pool on its own. */
function typedApp(dialect: 'postgres' | 'mysql'): string {
  const [Dialect, connector] =
    dialect === 'postgres' ? ['PooledPostgresDialect', 'postgresConnector'] : ['PooledMysqlDialect', 'mysqlConnector']
  return `import { Kysely, sql, type Generated } from 'kysely'
import { ${Dialect}, PoolTimeoutError } from 'kysely-pooled'
import { createPool, ${connector}, recommendPoolSize, type PoolStats } from '@kysely-pooled/core'

interface DB { person: { id: Generated<number>; name: string } }

const dialect = new ${Dialect}({ connection: process.env.DATABASE_URL ?? '', pool: { max: 2, acquireTimeoutMillis: 1_000 } })
const db = new Kysely<DB>({ dialect })
const names: string[] = (await db.selectFrom('person').select('name').execute()).map((row) => row.name)
const one = await sql<{ one: number }>\`select 1 as one\`.execute(db)
const stats: PoolStats = dialect.pool.stats()
const pool = createPool(${connector}('${dialect}://localhost/app'), { max: 1 })
const viaPool: unknown = await pool.use(${
    dialect === 'postgres'
      ? "async (client) => (await client.query<{ one: number }>('select 1 as one')).rows[0]?.one"
      : "(connection) => new Promise((resolve, reject) => connection.query('select 1', [], (error, result) => (error ? reject(error) : resolve(result))))"
  })
const timedOut: boolean = new Error() instanceof PoolTimeoutError
console.log(names, one.rows[0]?.one, viaPool, stats.max, recommendPoolSize({ serverMaxConnections: 100 }).max, timedOut)
`
}

function esmApp(dialect: 'postgres' | 'mysql'): string {
  const Dialect = dialect === 'postgres' ? 'PooledPostgresDialect' : 'PooledMysqlDialect'
  return `import { Kysely, sql } from 'kysely'
import { ${Dialect} } from 'kysely-pooled'
import { instrumentPool } from '@kysely-pooled/core/opentelemetry'

const dialect = new ${Dialect}({ connection: process.env.DATABASE_URL, pool: { max: 2, name: 'packed' } })
const instrumentation = instrumentPool(dialect.pool)
const db = new Kysely({ dialect })
const { rows } = await sql\`select 1 + 1 as two\`.execute(db)
const inTransaction = await db.transaction().execute((trx) => sql\`select 3 as three\`.execute(trx))
instrumentation.unregister()
const stats = dialect.pool.stats()
await db.destroy()
console.log(JSON.stringify({ two: Number(rows[0].two), three: Number(inTransaction.rows[0].three), acquires: stats.acquires }))
`
}

function cjsApp(dialect: 'postgres' | 'mysql'): string {
  const [Dialect, connector] =
    dialect === 'postgres' ? ['PooledPostgresDialect', 'postgresConnector'] : ['PooledMysqlDialect', 'mysqlConnector']
  return `const { Kysely, sql } = require('kysely')
const { ${Dialect}, PoolError } = require('kysely-pooled')
const core = require('@kysely-pooled/core')

async function main() {
  const db = new Kysely({ dialect: new ${Dialect}({ connection: process.env.DATABASE_URL, pool: { max: 1 } }) })
  const { rows } = await sql\`select 41 + 1 as answer\`.execute(db)
  await db.destroy()
  const pool = core.createPool(core.${connector}(process.env.DATABASE_URL), { max: 1 })
  const size = await pool.use(() => pool.stats().size)
  await pool.destroy()
  console.log(JSON.stringify({ answer: Number(rows[0].answer), size, sameErrorClass: PoolError === core.PoolError }))
}
main().catch((error) => { console.error(error); process.exitCode = 1 })
`
}

describe('the packed packages, installed outside the workspace', () => {
  let work: string
  const tarballs: Record<(typeof PACKAGES)[number], string> = { core: '', 'kysely-pooled': '' }
  const apps = { postgres: '', mysql: '' }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kysely-pooled-pack-'))
    const workspace = join(work, 'workspace')
    copyWorkspace(workspace)
    for (const name of PACKAGES) {
      const out = await ok('pnpm', ['pack', '--pack-destination', work], join(workspace, 'packages', name), 180_000)
      tarballs[name] = out
        .trim()
        .split('\n')
        .filter((line) => line.endsWith('.tgz'))
        .pop()!
      expect(existsSync(tarballs[name])).toBe(true)
    }

    const driverDeps = { postgres: ['pg@^8.21.0'], mysql: ['mysql2@^3.15.0'] }
    for (const dialect of ['postgres', 'mysql'] as const) {
      const app = join(work, `app-${dialect}`)
      mkdirSync(app)
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({ name: `app-${dialect}`, private: true, type: 'module' }, null, 2),
      )
      await ok(
        'npm',
        [
          'install',
          '--no-audit',
          '--no-fund',
          '--prefer-offline',
          '--loglevel=error',
          '--cache',
          NPM_CACHE,
          tarballs.core,
          tarballs['kysely-pooled'],
          'kysely@0.29.9',
          ...driverDeps[dialect],
          'typescript@~5.9.3',
          '@types/node@^20.19.0',
          '@opentelemetry/api@~1.9.0',
          ...(dialect === 'postgres' ? ['publint@^0.3.0'] : []),
        ],
        app,
        INSTALL_TIMEOUT_MILLIS,
      )
      writeFileSync(join(app, 'app.mjs'), esmApp(dialect))
      writeFileSync(join(app, 'app.cjs'), cjsApp(dialect))
      writeFileSync(join(app, 'app.ts'), typedApp(dialect))
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(APP_TSCONFIG, null, 2))
      apps[dialect] = app
    }
  }, 600_000)

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  it('prepack built dist into each tarball; the tarballs carry README and LICENSE, no tests', async () => {
    for (const name of PACKAGES) {
      const files = (await ok('tar', ['-tzf', tarballs[name]], work)).split('\n')
      expect(files).toContain('package/dist/index.js')
      expect(files).toContain('package/dist/index.d.ts')
      expect(files).toContain('package/README.md')
      expect(files).toContain('package/LICENSE')
      expect(files.filter((file) => file.includes('/test/') || file.endsWith('.test.ts'))).toEqual([])
    }
    const files = (await ok('tar', ['-tzf', tarballs.core], work)).split('\n')
    expect(files).toContain('package/dist/opentelemetry/index.js')
    const manifest = JSON.parse(
      readFileSync(join(apps.postgres, 'node_modules/kysely-pooled/package.json'), 'utf8'),
    ) as {
      dependencies: Record<string, string>
    }
    // workspace:* became the released version.
    expect(manifest.dependencies['@kysely-pooled/core']).toBe('0.1.0')
  })

  it('the READMEs link nowhere outside their package', () => {
    for (const name of PACKAGES) {
      const readme = readFileSync(
        join(apps.postgres, 'node_modules', name === 'core' ? '@kysely-pooled/core' : name, 'README.md'),
        'utf8',
      )
      expect(readme).not.toMatch(/\]\((?:\.\.\/|\.\/(?!#))/)
    }
  })

  describe.each(['postgres', 'mysql'] as const)('%s-only app', (dialect) => {
    const url = testDatabase(dialect).url

    it('runs as an ES module against the real database', async () => {
      const out = await ok('node', ['app.mjs'], apps[dialect], 60_000, { DATABASE_URL: url })
      expect(JSON.parse(out)).toEqual({ two: 2, three: 3, acquires: 2 })
    })

    it('runs through require() (Node 20.19+), one module instance for both packages', async () => {
      const out = await ok('node', ['app.cjs'], apps[dialect], 60_000, { DATABASE_URL: url })
      expect(JSON.parse(out)).toEqual({ answer: 42, size: 1, sameErrorClass: true })
    })

    it('where require() of ES modules is not available, Node says to use import() (not ERR_PACKAGE_PATH_NOT_EXPORTED)', async () => {
      writeFileSync(join(apps[dialect], 'old-node.cjs'), "require('kysely-pooled')\n")
      const result = await run('node', ['--no-experimental-require-module', 'old-node.cjs'], apps[dialect], 60_000)
      expect(result.code).not.toBe(0)
      expect(result.stderr).toContain('ERR_REQUIRE_ESM')
      expect(result.stderr).toContain('dynamic import()')
    })

    it('type-checks under strict tsc with skipLibCheck off and no @types/pg', async () => {
      expect(existsSync(join(apps[dialect], 'node_modules/@types/pg'))).toBe(false)
      expect(existsSync(join(apps[dialect], 'node_modules', dialect === 'postgres' ? 'mysql2' : 'pg'))).toBe(false)
      const result = await run(
        join(apps[dialect], 'node_modules/.bin/tsc'),
        ['--noEmit', '-p', 'tsconfig.json'],
        apps[dialect],
        120_000,
      )
      expect(result.stdout + result.stderr).toBe('')
      expect(result.code).toBe(0)
      // tsc with skipLibCheck off takes 30-40 s on a busy 2-core machine.
    }, 150_000)
  })

  it('publint finds nothing to complain about in either tarball', async () => {
    const script = `
import { readFileSync } from 'node:fs'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
const out = []
for (const file of process.argv.slice(2)) {
  const tarball = readFileSync(file)
  const { messages, pkg } = await publint({ pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) }, level: 'suggestion', strict: true })
  out.push(...messages.map((m) => pkg.name + ': ' + m.type + ' ' + m.code + ': ' + formatMessage(m, pkg)))
}
console.log(JSON.stringify(out))
`
    writeFileSync(join(apps.postgres, 'lint.mjs'), script)
    const out = await ok('node', ['lint.mjs', tarballs.core, tarballs['kysely-pooled']], apps.postgres, 60_000)
    expect(JSON.parse(out)).toEqual([])
  })
})
