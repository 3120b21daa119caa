import { Kysely } from 'kysely'
import type { BenchDatabase } from '../databases.js'
import {
  closeMysqlConnections,
  closePostgresClients,
  mysqlQuery,
  openMysqlConnections,
  openPostgresClients,
} from '../no-pool/dedicated-connections.js'
import { RoundRobinDialect } from '../no-pool/round-robin-driver.js'
import type { Contender, ContenderSession } from './contender.js'
import { kyselySession } from './kysely-session.js'

/**
 * Kysely on the no-pool round-robin driver: the most any Kysely dialect
 * can reach on `max` connections.
 */
export const kyselyCeiling: Contender = {
  id: 'kysely-ceiling',
  label: () => 'ceiling: Kysely, no pool (round-robin)',
  async open(target, max) {
    const db = new Kysely<BenchDatabase>({ dialect: new RoundRobinDialect(target.id, target.url, max) })
    // Kysely opens the driver lazily; open the connections before measuring.
    await db.selectFrom('kp_bench_item').select('id').where('id', '=', 1).execute()
    return kyselySession(db)
  },
}

const POSTGRES_SELECT = 'select * from "kp_bench_item" where "id" = $1'
const POSTGRES_UPDATE = 'update "kp_bench_item" set "price" = "price" + 1 where "id" = $1'
const MYSQL_SELECT = 'select * from `kp_bench_item` where `id` = ?'
const MYSQL_UPDATE = 'update `kp_bench_item` set `price` = `price` + 1 where `id` = ?'

/**
 * The raw driver on `max` dedicated connections, no pool and no query
 * builder: each call goes to the next connection round-robin and queues in
 * the driver. A transaction's three statements are queued back to back on
 * one connection, so nothing can interleave. No pool can beat this.
 */
export const rawCeiling: Contender = {
  id: 'raw-ceiling',
  label: (target) => `ceiling: raw ${target.id === 'postgres' ? 'pg' : 'mysql2'}, no pool`,
  async open(target, max): Promise<ContenderSession> {
    let next = 0
    if (target.id === 'postgres') {
      const clients = await openPostgresClients(target.url, max)
      const pick = () => {
        const client = clients[next]!
        next = (next + 1) % clients.length
        return client
      }
      return {
        pointSelect: (id) =>
          pick()
            .query(POSTGRES_SELECT, [id])
            .then((result) => result.rows[0]),
        updateInTransaction: (id) => {
          const client = pick()
          const begin = client.query('begin')
          const update = client.query(POSTGRES_UPDATE, [id])
          const commit = client.query('commit')
          return Promise.all([begin, update, commit])
        },
        close: () => closePostgresClients(clients),
      }
    }
    const connections = await openMysqlConnections(target.url, max)
    const pick = () => {
      const connection = connections[next]!
      next = (next + 1) % connections.length
      return connection
    }
    return {
      pointSelect: (id) => mysqlQuery(pick(), MYSQL_SELECT, [id]).then((rows) => (rows as unknown[])[0]),
      updateInTransaction: (id) => {
        const connection = pick()
        return Promise.all([
          mysqlQuery(connection, 'begin', []),
          mysqlQuery(connection, MYSQL_UPDATE, [id]),
          mysqlQuery(connection, 'commit', []),
        ])
      },
      close: () => closeMysqlConnections(connections),
    }
  },
}
