import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * What the proxy does to traffic:
 * - `pass`: forwards both ways;
 * - `blackhole`: drops every byte both ways, on open and new connections,
 *   sending no RST or FIN (a dead path: a firewall drop, a vanished host);
 * - `refuse`: stops listening, so new connections get ECONNREFUSED (open
 *   ones keep passing);
 * - `{ latencyMillis }`: forwards every chunk after that delay.
 */
export type FaultMode = 'pass' | 'blackhole' | 'refuse' | { readonly latencyMillis: number }

export interface FaultProxyOptions {
  /** The server to forward to: a loopback address only. */
  readonly target: { readonly host: string; readonly port: number }
}

export interface FaultProxy {
  /** The loopback port the proxy listens on. */
  readonly port: number
  /** `forUrl` with its host and port replaced by the proxy's. */
  url(forUrl: string): string
  /** The current mode. */
  readonly mode: FaultMode
  /** Switches the mode; resolves once it is in effect (leaving `refuse` listens again, on the same port). */
  setMode(mode: FaultMode): Promise<void>
  /** Resets (TCP RST) every open connection, both sides, at once. */
  resetAll(): void
  /**
   * Arms every open connection to be reset on its client's next write,
   * instead of forwarding it: a NAT or firewall that forgot the flow, whose
   * reset arrives only when the client speaks.
   */
  resetOnNextWrite(): void
  /** Connections open through the proxy now. */
  readonly connections: number
  /** Bytes dropped so far in `blackhole` mode (lets a test wait until a write has met the hole). */
  readonly droppedBytes: number
  /** Destroys every connection and stops listening. */
  close(): Promise<void>
}

/** One client connection and its upstream. */
interface Pair {
  readonly client: Socket
  readonly upstream: Socket
  resetOnWrite: boolean
}

/**
 * A loopback TCP proxy that injects network faults on command, for tests of
 * what a pool does when the path to its database breaks. Listens on
 * 127.0.0.1 only, on a free port.
 *
 * ```ts
 * const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: 5432 } })
 * const connector = postgresConnector(proxy.url(process.env.PG_URL!))
 * proxy.setMode('blackhole')
 * ```
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const { host, port: targetPort } = options.target
  if (!isLoopback(host))
    throw new Error(`startFaultProxy forwards to loopback addresses only (got ${JSON.stringify(host)})`)
  const pairs = new Set<Pair>()
  let mode: FaultMode = 'pass'
  let server: Server | undefined
  let port = 0
  let closed = false
  let droppedBytes = 0

  const resetPair = (pair: Pair): void => {
    pair.client.resetAndDestroy()
    pair.upstream.resetAndDestroy()
    pairs.delete(pair)
  }

  const forward = (from: Socket, to: Socket, pair: Pair, fromClient: boolean): void => {
    from.on('data', (chunk: Buffer) => {
      if (fromClient && pair.resetOnWrite) return resetPair(pair)
      const current = mode
      if (current === 'blackhole') {
        droppedBytes += chunk.length
        return
      }
      if (typeof current === 'object') {
        setTimeout(() => {
          if (!to.destroyed) to.write(chunk)
        }, current.latencyMillis)
        return
      }
      to.write(chunk)
    })
    // An orderly close travels on; an error resets the other side, as a real path would.
    from.on('end', () => {
      const end = (): void => {
        if (!to.destroyed) to.end()
      }
      // Behind the chunks still delayed, in latency mode.
      if (typeof mode === 'object') setTimeout(end, mode.latencyMillis)
      else end()
    })
    from.on('error', () => {
      if (!to.destroyed) to.resetAndDestroy()
    })
    from.on('close', () => {
      pairs.delete(pair)
      if (!to.destroyed) to.destroy()
    })
  }

  const onConnection = (client: Socket): void => {
    const upstream = connect(targetPort, host)
    const pair: Pair = { client, upstream, resetOnWrite: false }
    pairs.add(pair)
    forward(client, upstream, pair, true)
    forward(upstream, client, pair, false)
  }

  const listen = async (): Promise<void> => {
    const next = createServer(onConnection)
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject)
      next.listen(port, '127.0.0.1', () => {
        next.off('error', reject)
        resolve()
      })
    })
    port = (next.address() as { port: number }).port
    server = next
  }
  const stopListening = (): void => {
    server?.close()
    server = undefined
  }

  await listen()

  return {
    get port() {
      return port
    },
    url(forUrl: string): string {
      const url = new URL(forUrl)
      url.hostname = '127.0.0.1'
      url.port = String(port)
      return url.toString()
    },
    get mode() {
      return mode
    },
    async setMode(next: FaultMode): Promise<void> {
      if (closed) throw new Error('the fault proxy is closed')
      if (typeof next === 'object' && (!Number.isFinite(next.latencyMillis) || next.latencyMillis < 0)) {
        throw new Error(`latencyMillis must be a finite number >= 0 (got ${next.latencyMillis})`)
      }
      const wasRefusing = mode === 'refuse'
      mode = next
      if (next === 'refuse' && !wasRefusing) stopListening()
      // Same port again, so URLs handed out stay valid.
      if (next !== 'refuse' && wasRefusing) await listen()
    },
    resetAll(): void {
      for (const pair of [...pairs]) resetPair(pair)
    },
    resetOnNextWrite(): void {
      for (const pair of pairs) pair.resetOnWrite = true
    },
    get connections() {
      return pairs.size
    },
    get droppedBytes() {
      return droppedBytes
    },
    async close(): Promise<void> {
      closed = true
      for (const pair of [...pairs]) {
        pair.client.destroy()
        pair.upstream.destroy()
      }
      pairs.clear()
      const last = server
      server = undefined
      if (last !== undefined) await new Promise<void>((resolve) => last.close(() => resolve()))
    },
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}
