import { sql, type Kysely } from 'kysely'
import type { BenchDatabase } from '../databases.js'
import type { ContenderSession } from './contender.js'

/** The typed queries every Kysely contender runs, identical SQL whatever the dialect. */
export function kyselySession(db: Kysely<BenchDatabase>): ContenderSession {
  return {
    pointSelect: (id) => db.selectFrom('kp_bench_item').selectAll().where('id', '=', id).executeTakeFirst(),
    updateInTransaction: (id) =>
      db.transaction().execute((trx) =>
        trx
          .updateTable('kp_bench_item')
          .set((eb) => ({ price: eb('price', '+', 1) }))
          .where('id', '=', id)
          .executeTakeFirst(),
      ),
    slowStatement: (seconds) => sql`select pg_sleep(${seconds})`.execute(db),
    close: () => db.destroy(),
  }
}
