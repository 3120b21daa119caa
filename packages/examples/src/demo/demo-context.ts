import type { Pool, PoolOptions, PoolStats } from '@kysely-pooled/core'
import type { ExampleDatabase } from '../shared/databases.js'
import { createPooledKysely, type PooledKysely } from '../shared/dialect.js'
import type { DemoDB } from './schema.js'
import type { Terminal } from './terminal.js'

export interface PoolRecord {
  readonly database: ExampleDatabase
  readonly stats: PoolStats
}

/** What every demo step gets: the terminal, the reachable databases, and the pools it used (for the summary). */
export class DemoContext {
  readonly term: Terminal
  readonly databases: readonly ExampleDatabase[]
  /** Scales the demo's waits and bursts; the tests run it faster. */
  readonly speed: number
  readonly #records: PoolRecord[] = []
  #failed = false

  constructor(term: Terminal, databases: readonly ExampleDatabase[], speed = 1) {
    this.term = term
    this.databases = databases
    this.speed = speed
  }

  get records(): readonly PoolRecord[] {
    return this.#records
  }

  get failed(): boolean {
    return this.#failed
  }

  /** Milliseconds scaled by `speed` (never below 1). */
  ms(millis: number): number {
    return Math.max(1, Math.round(millis / this.speed))
  }

  /** Keeps a pool's stats for the closing summary. Call it just before destroying the pool. */
  record(database: ExampleDatabase, pool: Pool<unknown>): void {
    this.#records.push({ database, stats: pool.stats() })
  }

  /**
   * Runs `fn` with a typed Kysely on a fresh pool, then records the pool's
   * final stats and destroys it whatever happened.
   */
  async withDb<T>(
    database: ExampleDatabase,
    name: string,
    options: PoolOptions,
    fn: (pooled: PooledKysely<DemoDB>) => Promise<T>,
  ): Promise<T> {
    const pooled = createPooledKysely<DemoDB>(database, { ...options, name: `${database.dialect}/${name}` })
    try {
      return await fn(pooled)
    } finally {
      this.record(database, pooled.pool)
      await pooled.db.destroy()
    }
  }

  /** Runs one step for each database; a failure is reported in one line and the demo goes on. */
  async forEachDatabase(step: string, fn: (database: ExampleDatabase) => Promise<void>): Promise<void> {
    for (const database of this.databases) {
      try {
        await fn(database)
      } catch (error) {
        this.#failed = true
        const message = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error)
        this.term.line(this.term.red(`  ${database.label}: ${step} failed: ${message}`))
      }
    }
  }
}

/** `PostgreSQL` / `MySQL` padded so per-database lines align. */
export function label(database: ExampleDatabase): string {
  return database.label.padEnd(10)
}
