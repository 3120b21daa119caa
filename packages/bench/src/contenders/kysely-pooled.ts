import { Kysely } from 'kysely'
import { PooledMysqlDialect, PooledPostgresDialect } from 'kysely-pooled'
import type { BenchDatabase } from '../databases.js'
import type { Contender } from './contender.js'
import { kyselySession } from './kysely-session.js'

/** Ours, as a user runs it: hygiene on (it cannot be turned off), reset 'auto'. */
export const kyselyPooled: Contender = {
  id: 'kysely-pooled',
  label: (target) =>
    target.id === 'postgres' ? 'kysely-pooled PooledPostgresDialect' : 'kysely-pooled PooledMysqlDialect',
  async open(target, max) {
    const pool = { max, reset: 'auto', name: `bench-${target.id}` } as const
    const dialect =
      target.id === 'postgres'
        ? new PooledPostgresDialect({ connection: target.url, pool })
        : new PooledMysqlDialect({ connection: target.url, pool })
    return kyselySession(new Kysely<BenchDatabase>({ dialect }))
  },
}

/** Ours with `pipeline: true` (PostgreSQL only): single statements share connections in pg's pipeline mode. */
export const kyselyPooledPipeline: Contender = {
  id: 'kysely-pooled-pipeline',
  databases: ['postgres'],
  label: () => 'kysely-pooled PooledPostgresDialect, pipeline: true',
  async open(target, max) {
    const pool = { max, reset: 'auto', name: `bench-${target.id}-pipeline` } as const
    return kyselySession(
      new Kysely<BenchDatabase>({
        dialect: new PooledPostgresDialect({ connection: target.url, pool, pipeline: true }),
      }),
    )
  },
}
