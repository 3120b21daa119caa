import { Kysely, MysqlDialect, PostgresDialect } from 'kysely'
import mysql from 'mysql2'
import pg from 'pg'
import type { BenchDatabase } from '../databases.js'
import type { Contender } from './contender.js'
import { kyselySession } from './kysely-session.js'

/** What a Kysely user has today: the stock dialect on the driver's own pool. */
export const stockKysely: Contender = {
  id: 'stock',
  label: (target) =>
    target.id === 'postgres' ? 'Kysely PostgresDialect + pg.Pool' : 'Kysely MysqlDialect + mysql2 pool',
  async open(target, max) {
    const dialect =
      target.id === 'postgres'
        ? new PostgresDialect({ pool: new pg.Pool({ connectionString: target.url, max }) })
        : new MysqlDialect({ pool: mysql.createPool({ uri: target.url, connectionLimit: max }) })
    return kyselySession(new Kysely<BenchDatabase>({ dialect }))
  },
}
