import { Kysely } from 'kysely'
import { PostgresJSDialect } from 'kysely-postgres-js'
import postgres from 'postgres'
import type { BenchDatabase } from '../databases.js'
import type { Contender } from './contender.js'
import { kyselySession } from './kysely-session.js'

/** postgres.js through `kysely-postgres-js`: the fastest Node PostgreSQL client as a Kysely user gets it. */
export const postgresJs: Contender = {
  id: 'postgres-js',
  databases: ['postgres'],
  label: () => 'Kysely + kysely-postgres-js (postgres.js)',
  async open(target, max) {
    // Quiet: the bench table's NOTICEs would otherwise be printed.
    const sql = postgres(target.url, { max, onnotice: () => undefined })
    return kyselySession(new Kysely<BenchDatabase>({ dialect: new PostgresJSDialect({ postgres: sql }) }))
  },
}
