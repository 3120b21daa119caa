import type { DatabaseUrl } from './database-url.js'

/** What the doctor reads from the server. */
export interface ServerFacts {
  /** Product and version, e.g. `PostgreSQL 15.4 (Debian …)`, `MariaDB 10.11.6`. */
  readonly version: string
  readonly maxConnections: number
  /** Slots ordinary users can never get (PostgreSQL's superuser/reserved slots). */
  readonly reserved: number
  /** Where `reserved` comes from, for humans. */
  readonly reservedDetail: string
  /** Client connections open now, the doctor's own excluded. */
  readonly inUse: number
}

/** One open connection the doctor talks through. */
export interface ProbeSession {
  /** The trivial query whose cost is compared with opening a connection. */
  selectOne(): Promise<void>
  facts(): Promise<ServerFacts>
  close(): Promise<void>
}

/** Opens connections to one kind of server with the plain driver (no pool: the doctor measures the raw cost). */
export interface ServerProbe {
  open(): Promise<ProbeSession>
}

export interface ProbeOptions {
  readonly connectTimeoutMillis: number
}

export async function createServerProbe(url: DatabaseUrl, options: ProbeOptions): Promise<ServerProbe> {
  if (url.dialect === 'postgres') {
    const { createPostgresProbe } = await import('./postgres-probe.js')
    return createPostgresProbe(url, options)
  }
  const { createMysqlProbe } = await import('./mysql-probe.js')
  return createMysqlProbe(url, options)
}

/**
 * One line saying why a connection failed, from a driver error. Network
 * errors get a plain-words reason; server errors keep the server's message
 * (which names the user, never the password). The caller still scrubs it.
 */
export function describeConnectError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  const message = error instanceof Error ? error.message : String(error)
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running and listening on that host and port?)'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host'
    case 'ETIMEDOUT':
      return 'timed out'
    case 'ECONNRESET':
      return 'the server closed the connection'
  }
  if (error instanceof AggregateError && error.errors.length > 0) {
    // Node tries every address of a host name; the first error says enough.
    return describeConnectError(error.errors[0])
  }
  if (/timeout/i.test(message)) {
    return 'timed out'
  }
  return message.split('\n')[0]!.trim() || 'unknown error'
}

export class DriverMissingError extends Error {
  constructor(driver: string) {
    super(`the "${driver}" package is not installed; install it next to kysely-pooled (npm install ${driver})`)
    this.name = 'DriverMissingError'
  }
}

export async function importDriver<T>(specifier: string, driver: string): Promise<T> {
  try {
    return (await import(specifier)) as T
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new DriverMissingError(driver)
    }
    throw error
  }
}
