import { Kysely, type Generated } from 'kysely'
import { PooledMysqlDialect, PooledPostgresDialect, readYourWritesScope, type ServerChange } from 'kysely-pooled'
import type { ExampleDialect } from '../shared/databases.js'

/** The example's one table. */
export interface ReplicaExampleDB {
  kp_ex_replica_posts: { id: Generated<number>; title: string }
}

export interface ReplicaSetup {
  readonly dialect: ExampleDialect
  /** Candidate primaries, in order (one is enough; more for failover). */
  readonly primaries: readonly string[]
  /** Read-only servers: streaming standbys, MariaDB/MySQL replicas. */
  readonly replicas: readonly string[]
}

/**
 * A Kysely instance whose plain reads go to the replicas and everything
 * else to the primary, with read-your-writes per request.
 */
export function replicaKysely(setup: ReplicaSetup, onChange: (change: ServerChange) => void = () => {}) {
  const options = {
    connection: [...setup.primaries],
    replicas: [...setup.replicas],
    // each server gets a pool of this size
    pool: { max: 5, acquireTimeoutMillis: 5_000, name: 'kp-ex-replicas' },
    // a replica more than 2 s behind gets no reads until it catches up
    maxReplicaLagMillis: 2_000,
    // after a write, this request's reads go to the primary for 1 s
    readYourWritesMillis: 1_000,
  }
  const dialect = setup.dialect === 'postgres' ? new PooledPostgresDialect(options) : new PooledMysqlDialect(options)
  dialect.topology?.on('change', onChange)
  return { db: new Kysely<ReplicaExampleDB>({ dialect }), dialect }
}

export async function createPostsTable(db: Kysely<ReplicaExampleDB>, dialect: ExampleDialect): Promise<void> {
  await db.schema
    .createTable('kp_ex_replica_posts')
    .ifNotExists()
    .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (column) =>
      dialect === 'postgres' ? column.primaryKey() : column.primaryKey().autoIncrement(),
    )
    .addColumn('title', 'varchar(200)', (column) => column.notNull())
    .execute()
}

/**
 * One request: insert a post, then read it back. Inside the scope the read
 * goes to the primary (it was just written); a replica may not have it yet.
 */
export function publish(db: Kysely<ReplicaExampleDB>, title: string): Promise<{ id: number; title: string }> {
  return readYourWritesScope(async () => {
    await db.insertInto('kp_ex_replica_posts').values({ title }).execute()
    return db
      .selectFrom('kp_ex_replica_posts')
      .select(['id', 'title'])
      .where('title', '=', title)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow()
  })
}

/** Another request: a plain read, answered by a replica while one is usable. */
export function latestTitles(db: Kysely<ReplicaExampleDB>, limit: number): Promise<string[]> {
  return readYourWritesScope(async () => {
    const rows = await db.selectFrom('kp_ex_replica_posts').select('title').orderBy('id', 'desc').limit(limit).execute()
    return rows.map((row) => row.title)
  })
}
