import { readFileSync } from 'node:fs'
import * as core from '@kysely-pooled/core'
import * as kyselyPooled from 'kysely-pooled'
import { describe, expect, it } from 'vitest'

/*
 * What npm shows is each package's README: every exported error and every
 * option must be in it, and every option must carry `@default` (what an
 * editor shows on hover). A new option or error fails here until documented.
 */

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')
const README = { core: read('core/README.md'), 'kysely-pooled': read('kysely-pooled/README.md') }

/** The exported classes that are pool errors (`PoolError` itself included). */
function errorClasses(exports: Record<string, unknown>): string[] {
  return Object.entries(exports)
    .filter(
      ([, value]) =>
        typeof value === 'function' &&
        (value === core.PoolError || (value as { prototype?: unknown }).prototype instanceof core.PoolError),
    )
    .map(([name]) => name)
    .sort()
}

interface Member {
  readonly name: string
  readonly doc: string
}

/** The members of `export interface <name>` in a source file, each with the JSDoc right above it. */
function interfaceMembers(path: string, name: string): Member[] {
  const source = read(path)
  const start = source.indexOf(`export interface ${name}`)
  expect(start, `${name} in ${path}`).toBeGreaterThanOrEqual(0)
  const body = source.slice(start, source.indexOf('\n}\n', start))
  const members: Member[] = []
  const lines = body.split('\n')
  for (const [index, line] of lines.entries()) {
    const match = /^ {2}readonly (\w+)\??:/.exec(line)
    if (match === null) continue
    let from = index
    while (from > 0 && !lines[from - 1]!.trim().startsWith('/**') && lines[from - 1]!.trim().startsWith('*')) from--
    const doc = from > 0 && lines[from - 1]!.trim().startsWith('/**') ? lines.slice(from - 1, index).join('\n') : ''
    members.push({ name: match[1]!, doc })
  }
  expect(members.length, `members of ${name}`).toBeGreaterThan(0)
  return members
}

const POOL_OPTIONS = interfaceMembers('core/src/pool/pool-options.ts', 'PoolOptions')
const CONNECTOR_OPTIONS = [
  ...interfaceMembers('core/src/connector/connector-options.ts', 'ConnectorOptions'),
  ...interfaceMembers('core/src/connector/postgres-connector.ts', 'PostgresConnectorOptions'),
]
const DIALECT_OPTIONS = [
  ...interfaceMembers('kysely-pooled/src/shared/pooled-dialect-config.ts', 'PooledDialectConfigBase'),
  ...interfaceMembers('kysely-pooled/src/postgres/pooled-postgres-dialect-config.ts', 'PooledPostgresDialectConfig'),
  ...interfaceMembers('kysely-pooled/src/mysql/pooled-mysql-dialect-config.ts', 'PooledMysqlDialectConfig'),
]

const mentioned = (readme: string, name: string) => readme.includes(`\`${name}\``)

describe('the package READMEs document the exported surface', () => {
  it('every pool option is a known option with a default', () => {
    expect(POOL_OPTIONS.map((o) => o.name).sort()).toEqual(
      [...Object.keys(core.POOL_DEFAULTS), 'name', 'onConnect', 'log'].sort(),
    )
  })

  it.each(['core', 'kysely-pooled'] as const)('%s README names every pool option', (pkg) => {
    expect(POOL_OPTIONS.map((o) => o.name).filter((name) => !mentioned(README[pkg], name))).toEqual([])
  })

  it('core README names every connector option', () => {
    expect(CONNECTOR_OPTIONS.map((o) => o.name).filter((name) => !mentioned(README.core, name))).toEqual([])
  })

  it('kysely-pooled README names every dialect option', () => {
    expect(DIALECT_OPTIONS.map((o) => o.name).filter((name) => !mentioned(README['kysely-pooled'], name))).toEqual([])
  })

  it.each([
    ['core', core],
    ['kysely-pooled', kyselyPooled],
  ] as const)('%s README names every exported error, with its code', (pkg, exports) => {
    const errors = errorClasses(exports)
    expect(errors).toContain('StalledStatementError')
    expect(errors.filter((name) => !mentioned(README[pkg], name))).toEqual([])
  })

  it('both packages export the same errors (kysely-pooled re-exports all but the sizing one)', () => {
    expect(errorClasses(kyselyPooled)).toEqual(errorClasses(core).filter((name) => name !== 'PoolSizingError'))
  })

  it('every option carries @default, so editors show it on hover', () => {
    const missing = [...POOL_OPTIONS, ...CONNECTOR_OPTIONS, ...DIALECT_OPTIONS]
      // `connection` has no default: it is required unless `pool` is a Pool.
      .filter((o) => o.name !== 'connection' && !o.doc.includes('@default'))
      .map((o) => o.name)
    expect(missing).toEqual([])
  })
})
