import { testDatabases } from '@kysely-pooled/core/testing'
import type { ServerChange } from 'kysely-pooled'
import { afterAll, describe, expect, it } from 'vitest'
import { createPostsTable, latestTitles, publish, replicaKysely } from '../src/read-replicas/replica-app.js'

// The routing itself is tested on real standbys and replicas in
// kysely-pooled's test/replicas; here the example's code runs on the local
// server, listed as the primary and as a replica (one server, one pool).
describe.each(testDatabases())('read-replicas example on $dialect', ({ dialect, url }) => {
  const changes: ServerChange[] = []
  const { db, dialect: pooled } = replicaKysely({ dialect, primaries: [url], replicas: [url] }, (change) =>
    changes.push(change),
  )

  afterAll(async () => {
    await db.schema.dropTable('kp_ex_replica_posts').ifExists().execute()
    await db.destroy()
  })

  it('publishes and reads back in one request, and lists the latest from another', async () => {
    await createPostsTable(db, dialect)
    const post = await publish(db, 'first post')
    expect(post.title).toBe('first post')
    await publish(db, 'second post')
    expect(await latestTitles(db, 2)).toEqual(['second post', 'first post'])
  })

  it('reports the server: one pool, the primary, usable', async () => {
    await expect.poll(() => changes.some((change) => change.role === 'primary' && change.usable)).toBe(true)
    const [server] = pooled.topology!.servers()
    expect(server).toMatchObject({
      role: 'primary',
      usable: true,
      pool: expect.stringMatching(/^kp-ex-replicas\/primary:/),
    })
    expect(pooled.topology!.servers()).toHaveLength(1)
  })
})
