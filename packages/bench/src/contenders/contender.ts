import type { DatabaseTarget } from '../databases.js'

export type ContenderId = 'kysely-pooled' | 'stock' | 'knex' | 'kysely-ceiling' | 'raw-ceiling'

/** One way a user could talk to the database, opened fresh for each measured slot. */
export interface Contender {
  readonly id: ContenderId
  label(target: DatabaseTarget): string
  open(target: DatabaseTarget, max: number): Promise<ContenderSession>
}

export interface ContenderSession {
  /** `select * from kp_bench_item where id = ?` and its row. */
  pointSelect(id: number): Promise<unknown>
  /** A transaction with one `update kp_bench_item set price = price + 1 where id = ?`. */
  updateInTransaction(id: number): Promise<unknown>
  /** Closes every connection the session opened. */
  close(): Promise<void>
}
