import { resolvePoolOptions, type Pool, type PoolOptions } from '@kysely-pooled/core'
import type { StatusProbe } from './server-status.js'
import { Topology, type ServerSpec } from './topology.js'

/** The config keys of replicas and failover, on both dialects. */
export interface ReplicaConfig {
  readonly connection?: unknown
  readonly replicas?: readonly unknown[]
  readonly maxReplicaLagMillis?: number
  readonly readYourWritesMillis?: number
}

/** Defaults, documented in the README ("Replicas and failover"). */
export const DEFAULT_MAX_REPLICA_LAG_MILLIS = 2_000
export const DEFAULT_READ_YOUR_WRITES_MILLIS = 1_000

/**
 * The config's problems with replicas and failover, and the connections to
 * check as any other. `used`: the dialect routes across servers (replicas,
 * or `connection` as an array).
 */
export function topologyProblems(
  config: ReplicaConfig,
  defaultPort: number,
  hasPoolOptions: boolean,
): { used: boolean; problems: string[]; connections: unknown[] } {
  const problems: string[] = []
  const connections: unknown[] = []
  const { replicas, connection } = config
  const used = replicas !== undefined || Array.isArray(connection)
  if (replicas !== undefined && !Array.isArray(replicas)) {
    problems.push('replicas must be an array of connections (URLs or connection objects)')
  }
  if (Array.isArray(connection)) {
    if (connection.length === 0) problems.push('connection as an array must list at least one server')
    connections.push(...(connection as unknown[]))
  }
  if (Array.isArray(replicas)) connections.push(...(replicas as unknown[]))
  for (const key of ['maxReplicaLagMillis', 'readYourWritesMillis'] as const) {
    const value = config[key]
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
      problems.push(`${key} must be an integer >= 0`)
    }
  }
  if (!used) {
    if (config.maxReplicaLagMillis !== undefined || config.readYourWritesMillis !== undefined) {
      problems.push('maxReplicaLagMillis and readYourWritesMillis need replicas')
    }
    return { used, problems, connections: [] }
  }
  if (!hasPoolOptions) {
    problems.push(
      'replicas and connection as an array need pool options (one pool per server), not a Pool or a factory',
    )
  }
  for (const entry of connections) {
    if (
      (typeof entry === 'string' || (typeof entry === 'object' && entry !== null)) &&
      serverOf(entry, defaultPort) === undefined
    ) {
      problems.push('a connection of replicas / connection is not a valid URL (it names no host)')
    }
  }
  return { used, problems, connections }
}

export interface TopologyParts<C> {
  readonly options: PoolOptions | undefined
  readonly dialect: string
  readonly defaultPort: number
  readonly probe: StatusProbe<C, unknown>
  readonly makePool: (connection: unknown, options: PoolOptions) => Pool<C>
}

/** One server per host:port (a server both in `connection` and in `replicas` is one server, one pool). */
export function makeTopology<C>(config: ReplicaConfig, parts: TopologyParts<C>): Topology<C> {
  const specs = new Map<string, { connection: unknown; candidate: boolean; replica: boolean }>()
  const add = (connection: unknown, role: 'candidate' | 'replica') => {
    const server = serverOf(connection, parts.defaultPort)!
    const spec = specs.get(server) ?? { connection, candidate: false, replica: false }
    spec[role] = true
    specs.set(server, spec)
  }
  for (const connection of Array.isArray(config.connection) ? config.connection : [config.connection]) {
    add(connection, 'candidate')
  }
  for (const connection of config.replicas ?? []) add(connection, 'replica')
  const servers: ServerSpec[] = [...specs].map(([server, spec]) => ({ server, ...spec }))
  const options = parts.options ?? {}
  return new Topology<C>({
    servers,
    name: options.name ?? parts.dialect,
    makePool: (connection, name) => parts.makePool(connection, { ...options, name }),
    probe: parts.probe,
    maxReplicaLagMillis: config.maxReplicaLagMillis ?? DEFAULT_MAX_REPLICA_LAG_MILLIS,
    readYourWritesMillis: config.readYourWritesMillis ?? DEFAULT_READ_YOUR_WRITES_MILLIS,
    acquireTimeoutMillis: resolvePoolOptions({ ...options, name: 'validation' }).acquireTimeoutMillis,
  })
}

/** `host:port` of a URL or connection object; undefined when it names no host. Never includes credentials. */
export function serverOf(connection: unknown, defaultPort: number): string | undefined {
  if (typeof connection === 'string') {
    try {
      const url = new URL(connection)
      return url.hostname === '' ? undefined : `${url.hostname}:${url.port || defaultPort}`
    } catch {
      return undefined
    }
  }
  if (typeof connection !== 'object' || connection === null) return undefined
  const { host, port, connectionString, uri } = connection as Record<string, unknown>
  const url = typeof connectionString === 'string' ? connectionString : typeof uri === 'string' ? uri : undefined
  if (url !== undefined && host === undefined) return serverOf(url, defaultPort)
  return `${typeof host === 'string' ? host : 'localhost'}:${typeof port === 'number' || typeof port === 'string' ? port : defaultPort}`
}
