import { createServer, connect, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool } from '../../src/index.js'
import { testDatabases } from '../../src/testing/index.js'
import { connectorFor, run } from '../connector/support/databases.js'

/*
 * A statement that fails is over: its release must not open a side channel
 * to cancel it. (PostgreSQL sends ReadyForQuery after the ErrorResponse that
 * already rejected the query; a release in between saw the connection as
 * busy and opened a cancel socket — a TCP connect, and a forked backend on
 * the server — for every failed statement.)
 */

/** A loopback forwarder that counts the connections it accepts. */
async function countingForwarder(port: number): Promise<{ port: number; accepted(): number; close(): Promise<void> }> {
  let accepted = 0
  const server: Server = createServer((client) => {
    accepted++
    const upstream = connect(port, '127.0.0.1')
    client.pipe(upstream).on('error', () => upstream.destroy())
    upstream.pipe(client).on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    accepted: () => accepted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe.each(testDatabases())('a failed statement on $dialect', (db) => {
  const isPostgres = db.dialect === 'postgres'
  let forwarder: Awaited<ReturnType<typeof countingForwarder>>

  beforeAll(async () => {
    forwarder = await countingForwarder(Number(new URL(db.url).port || (isPostgres ? 5432 : 3306)))
  })
  afterAll(async () => {
    await forwarder?.close()
  })

  it('opens no side channel on release: no cancel, the connection is reused', async () => {
    const url = new URL(db.url)
    url.port = String(forwarder.port)
    const pool = createPool(connectorFor(db, url.toString()), { max: 1 })
    try {
      await pool.use((connection) => run(db, connection, 'SELECT 1 AS one'))
      expect(forwarder.accepted()).toBe(1)
      for (let i = 0; i < 10; i++) {
        const failed = await pool
          .use((connection) => run(db, connection, 'SELECT no_such_column FROM no_such_table'))
          .catch((e: unknown) => e)
        expect(failed).toBeInstanceOf(Error)
      }
      await expect.poll(() => pool.stats().idle).toBe(1)
      expect(await pool.use((connection) => run(db, connection, 'SELECT 2 AS two'))).toEqual([{ two: 2 }])
      expect(pool.stats()).toMatchObject({ created: 1, destroyed: 0 })
      expect(forwarder.accepted()).toBe(1)
    } finally {
      await pool.destroy()
    }
  })
})
