import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startThrowawayMariadb, startThrowawayPostgres, type ThrowawayServer } from '../support/throwaway-servers.js'
import { testDatabase } from '../../src/testing/index.js'
import { connectorFor, run, type Handle } from './support/databases.js'

const CONNECT = { timeoutMillis: 10_000 }

describe.each([
  ['postgres', startThrowawayPostgres],
  ['mysql', startThrowawayMariadb],
] as const)('a %s server restart (throwaway server)', (dialect, startServer) => {
  let server: ThrowawayServer
  const db = { ...testDatabase(dialect) }

  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(async () => {
    await server?.destroy()
  })

  it('breaks every open connection, at once and heard; new connections work after the restart', async () => {
    const connector = connectorFor(db, server.url)
    const handles: Handle[] = await Promise.all([connector.connect(CONNECT), connector.connect(CONNECT)])
    const broken: Error[] = []
    for (const handle of handles) handle.onBroken((error) => broken.push(error))
    await server.stop()
    await expect.poll(() => broken.length, { timeout: 10_000 }).toBe(2)
    for (const handle of handles) expect(handle.isBroken()).toBe(true)
    const refused = await connector.connect({ timeoutMillis: 2_000 }).catch((error: unknown) => error)
    expect(connector.classifyConnectFailure(refused)).toBe('transient')
    await server.start()
    const fresh = await connector.connect(CONNECT)
    expect(await run(db, fresh, 'SELECT 1 AS one')).toEqual([{ one: 1 }])
    await Promise.all([...handles, fresh].map((handle) => handle.close()))
  })

  it('destroy() kills the server and removes its datadir', async () => {
    const other = await startServer()
    const dir = (other as unknown as { dir: string }).dir
    expect(existsSync(dir)).toBe(true)
    await other.destroy()
    expect(other.running).toBe(false)
    expect(existsSync(dir)).toBe(false)
    await expect(other.start()).rejects.toThrow(/destroyed/)
  })
})
