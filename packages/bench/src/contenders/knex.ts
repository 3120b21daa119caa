import knexFactory from 'knex'
import type { Contender } from './contender.js'

/** The other common choice: knex on tarn. Same SQL, knex's builder. */
export const knexContender: Contender = {
  id: 'knex',
  label: () => 'knex (tarn)',
  async open(target, max) {
    const knex = knexFactory({
      client: target.id === 'postgres' ? 'pg' : 'mysql2',
      connection: target.url,
      pool: { min: 0, max },
    })
    return {
      pointSelect: (id) =>
        knex('kp_bench_item')
          .select('*')
          .where('id', id)
          .then((rows) => rows[0]),
      updateInTransaction: (id) =>
        knex.transaction((trx) => trx('kp_bench_item').where('id', id).increment('price', 1)),
      close: () => knex.destroy(),
    }
  },
}
