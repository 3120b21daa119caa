import { exampleDatabase } from '../shared/databases.js'
import { createPostsTable, latestTitles, publish, replicaKysely } from './replica-app.js'

// PRIMARY_URLS=postgres://…primary,postgres://…standby REPLICA_URLS=postgres://…standby \
//   pnpm --filter @kysely-pooled/examples read-replicas          (REPLICAS_DB=mysql for MariaDB/MySQL)
// Without them it runs on the local server alone, listed as primary and replica.
const dialect = process.env.REPLICAS_DB === 'mysql' ? 'mysql' : 'postgres'
const local = exampleDatabase(dialect).url
const list = (value: string | undefined) => (value ? value.split(',').map((url) => url.trim()) : [local])
const { db, dialect: pooled } = replicaKysely(
  { dialect, primaries: list(process.env.PRIMARY_URLS), replicas: list(process.env.REPLICA_URLS) },
  (change) =>
    console.log(`server ${change.server}: ${change.role}${change.usable ? '' : ' (not usable)'} — ${change.reason}`),
)
try {
  await createPostsTable(db, dialect)
  const post = await publish(db, `hello at ${new Date().toISOString()}`)
  console.log(`published #${post.id}, read back at once: ${post.title}`)
  console.log('latest:', await latestTitles(db, 3))
  for (const server of pooled.topology?.servers() ?? []) {
    console.log(`${server.role.padEnd(8)} ${server.server}  lag ${server.lagMillis ?? '?'} ms  pool "${server.pool}"`)
  }
} finally {
  await db.schema.dropTable('kp_ex_replica_posts').ifExists().execute()
  await db.destroy()
}
