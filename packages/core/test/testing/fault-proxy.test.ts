import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFaultProxy, type FaultProxy } from '../../src/testing/index.js'

/** An echo server: every chunk comes back. */
let echo: Server
let echoPort: number
let proxy: FaultProxy

beforeAll(async () => {
  echo = createServer((socket) => {
    socket.on('error', () => {})
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
  echoPort = (echo.address() as { port: number }).port
  proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: echoPort } })
})

afterAll(async () => {
  await proxy.close()
  await new Promise((resolve) => echo.close(resolve))
})

interface Client {
  socket: Socket
  received: string
  errors: string[]
  closed: boolean
}

async function open(): Promise<Client> {
  const client: Client = { socket: connect(proxy.port, '127.0.0.1'), received: '', errors: [], closed: false }
  client.socket.on('data', (chunk) => (client.received += chunk.toString()))
  client.socket.on('error', (error: NodeJS.ErrnoException) => client.errors.push(error.code ?? error.message))
  client.socket.on('close', () => (client.closed = true))
  const before = proxy.connections
  await new Promise((resolve) => client.socket.once('connect', resolve))
  // The proxy's side of the accept may come a moment later.
  await expect.poll(() => proxy.connections).toBeGreaterThan(before)
  return client
}

describe('startFaultProxy', () => {
  it('listens on loopback, rewrites URLs, and refuses a non-loopback target', async () => {
    expect(proxy.url('postgres://u:pw@db.example:5432/app')).toBe(`postgres://u:pw@127.0.0.1:${proxy.port}/app`)
    await expect(startFaultProxy({ target: { host: '10.0.0.1', port: 1 } })).rejects.toThrow(/loopback/)
  })

  it('passes, blackholes, and passes again; counts connections', async () => {
    const client = await open()
    await expect.poll(() => proxy.connections).toBe(1)
    client.socket.write('one')
    await expect.poll(() => client.received).toBe('one')
    await proxy.setMode('blackhole')
    const dropped = proxy.droppedBytes
    client.socket.write('lost')
    await expect.poll(() => proxy.droppedBytes).toBe(dropped + 4)
    await proxy.setMode('pass')
    client.socket.write('two')
    await expect.poll(() => client.received).toBe('onetwo')
    client.socket.destroy()
    await expect.poll(() => proxy.connections).toBe(0)
  })

  it('delays traffic in latency mode, in order', async () => {
    const client = await open()
    await proxy.setMode({ latencyMillis: 30 })
    client.socket.write('a')
    client.socket.write('b')
    expect(client.received).toBe('')
    await expect.poll(() => client.received).toBe('ab')
    await proxy.setMode('pass')
    client.socket.destroy()
    await expect.poll(() => proxy.connections).toBe(0)
  })

  it('resetAll resets every open connection', async () => {
    const a = await open()
    const b = await open()
    proxy.resetAll()
    await expect.poll(() => a.closed && b.closed).toBe(true)
    expect([...a.errors, ...b.errors]).toEqual(['ECONNRESET', 'ECONNRESET'])
    expect(proxy.connections).toBe(0)
  })

  it('resetOnNextWrite resets a connection when its client next writes, not before', async () => {
    const client = await open()
    proxy.resetOnNextWrite()
    const later = await open() // opened after arming: unaffected
    expect(client.closed).toBe(false)
    client.socket.write('x')
    await expect.poll(() => client.closed).toBe(true)
    expect(client.errors).toEqual(['ECONNRESET'])
    later.socket.write('fine')
    await expect.poll(() => later.received).toBe('fine')
    later.socket.destroy()
    await expect.poll(() => proxy.connections).toBe(0)
  })

  it('refuses new connections in refuse mode and listens again on the same port after', async () => {
    const port = proxy.port
    await proxy.setMode('refuse')
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? ''))
      socket.on('connect', () => resolve('connected'))
    })
    expect(refused).toBe('ECONNREFUSED')
    await proxy.setMode('pass')
    expect(proxy.port).toBe(port)
    const client = await open()
    client.socket.write('back')
    await expect.poll(() => client.received).toBe('back')
    client.socket.destroy()
  })
})
