import { Kysely, MysqlDialect, PostgresDialect } from 'kysely'
import knexFactory from 'knex'
import mysql from 'mysql2'
import pg from 'pg'
import { PooledMysqlDialect, PooledPostgresDialect } from 'kysely-pooled'
import { rotate } from '../closed-loop.js'
import type { ContenderId } from '../contenders/contender.js'
import type { BenchDatabase, DatabaseTarget } from '../databases.js'
import { progress } from '../progress.js'
import type { BenchSettings, DatabaseId } from '../settings.js'
import { summarize, type Summary } from '../statistics.js'

export interface WarmUpRow {
  readonly contender: ContenderId
  readonly label: string
  /** Milliseconds from constructing the pool until 20 concurrent point selects all returned. */
  readonly millis: Summary
  readonly ratioToStock: Summary
}

export interface WarmUpResult {
  readonly database: DatabaseId
  readonly connections: number
  readonly rows: readonly WarmUpRow[]
}

const CONNECTIONS = 20

interface WarmUpContender {
  readonly id: ContenderId
  label(target: DatabaseTarget): string
  /** Constructs the pool and fires the 20 queries at once; resolves when all returned, then closes. */
  run(target: DatabaseTarget): Promise<number>
}

/**
 * A fresh pool and 20 queries at once: ours with min 20 (the connections
 * open in parallel at construction) against the stock pools at max 20,
 * which open a connection per waiting query.
 */
export async function measureWarmUp(target: DatabaseTarget, settings: BenchSettings): Promise<WarmUpResult> {
  const samples = new Map<ContenderId, number[]>()
  for (const contender of CONTENDERS) {
    await contender.run(target) // warm-up (JIT, server caches)
  }
  for (let round = 0; round < settings.warmUpRounds; round++) {
    const line: string[] = []
    for (const contender of rotate(CONTENDERS, round)) {
      const millis = await contender.run(target)
      samples.set(contender.id, [...(samples.get(contender.id) ?? []), millis])
      line.push(`${contender.id} ${millis.toFixed(1)} ms`)
      // Let the server reap the closed backends before the next pool opens 20.
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    progress(`${target.label} warm-up round ${round + 1}/${settings.warmUpRounds}: ${line.join(', ')}`)
  }
  const stock = samples.get('stock') ?? []
  return {
    database: target.id,
    connections: CONNECTIONS,
    rows: CONTENDERS.map((contender) => {
      const own = samples.get(contender.id) ?? []
      return {
        contender: contender.id,
        label: contender.label(target),
        millis: summarize(own),
        ratioToStock: summarize(own.map((value, round) => value / (stock[round] ?? Number.NaN))),
      }
    }),
  }
}

async function timeKysely(makeDb: () => Kysely<BenchDatabase>): Promise<number> {
  const start = performance.now()
  const db = makeDb()
  try {
    await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, i) =>
        db
          .selectFrom('kp_bench_item')
          .selectAll()
          .where('id', '=', i + 1)
          .executeTakeFirst(),
      ),
    )
    return performance.now() - start
  } finally {
    await db.destroy()
  }
}

const CONTENDERS: readonly WarmUpContender[] = [
  {
    id: 'kysely-pooled',
    label: () => `kysely-pooled (min ${CONNECTIONS}, max ${CONNECTIONS})`,
    run: (target) =>
      timeKysely(() => {
        const pool = { min: CONNECTIONS, max: CONNECTIONS, name: 'bench-warm-up' }
        const dialect =
          target.id === 'postgres'
            ? new PooledPostgresDialect({ connection: target.url, pool })
            : new PooledMysqlDialect({ connection: target.url, pool })
        return new Kysely<BenchDatabase>({ dialect })
      }),
  },
  {
    id: 'stock',
    label: (target) =>
      target.id === 'postgres'
        ? `Kysely PostgresDialect + pg.Pool (max ${CONNECTIONS})`
        : `Kysely MysqlDialect + mysql2 pool (connectionLimit ${CONNECTIONS})`,
    run: (target) =>
      timeKysely(() => {
        const dialect =
          target.id === 'postgres'
            ? new PostgresDialect({ pool: new pg.Pool({ connectionString: target.url, max: CONNECTIONS }) })
            : new MysqlDialect({ pool: mysql.createPool({ uri: target.url, connectionLimit: CONNECTIONS }) })
        return new Kysely<BenchDatabase>({ dialect })
      }),
  },
  {
    id: 'knex',
    label: () => `knex (tarn, min ${CONNECTIONS}, max ${CONNECTIONS})`,
    async run(target) {
      const start = performance.now()
      const knex = knexFactory({
        client: target.id === 'postgres' ? 'pg' : 'mysql2',
        connection: target.url,
        pool: { min: CONNECTIONS, max: CONNECTIONS },
      })
      try {
        await Promise.all(
          Array.from({ length: CONNECTIONS }, (_, i) =>
            knex('kp_bench_item')
              .select('*')
              .where('id', i + 1),
          ),
        )
        return performance.now() - start
      } finally {
        await knex.destroy()
      }
    },
  },
]
