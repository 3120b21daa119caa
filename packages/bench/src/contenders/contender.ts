import type { DatabaseTarget } from '../databases.js'
import type { DatabaseId } from '../settings.js'

export type ContenderId =
  'kysely-pooled' | 'kysely-pooled-pipeline' | 'stock' | 'postgres-js' | 'knex' | 'kysely-ceiling' | 'raw-ceiling'

/** One way a user could talk to the database, opened fresh for each measured slot. */
export interface Contender {
  readonly id: ContenderId
  /** The databases it runs on; all when absent. */
  readonly databases?: readonly DatabaseId[]
  label(target: DatabaseTarget): string
  open(target: DatabaseTarget, max: number): Promise<ContenderSession>
}

export interface ContenderSession {
  /** `select * from kp_bench_item where id = ?` and its row. */
  pointSelect(id: number): Promise<unknown>
  /** A transaction with one `update kp_bench_item set price = price + 1 where id = ?`. */
  updateInTransaction(id: number): Promise<unknown>
  /** PostgreSQL `select pg_sleep(seconds)` as a single statement (head-of-line scenario); Kysely contenders only. */
  slowStatement?(seconds: number): Promise<unknown>
  /** Closes every connection the session opened. */
  close(): Promise<void>
}
