import { mysqlConnector, postgresConnector, type Connector } from '@kysely-pooled/core'
import type { ExampleDatabase } from './databases.js'

export type Reachability = { readonly ok: true } | { readonly ok: false; readonly reason: string }

/** The core connector for the database: what the pool opens connections with. */
export function connectorFor(database: ExampleDatabase): Connector<unknown> {
  return (
    database.dialect === 'postgres' ? postgresConnector(database.url) : mysqlConnector(database.url)
  ) as Connector<unknown>
}

/** Opens and closes one connection; says why when that fails (password-free, one line). */
export async function checkReachable(database: ExampleDatabase, timeoutMillis = 3_000): Promise<Reachability> {
  const connector = connectorFor(database)
  try {
    const handle = await connector.connect({ timeoutMillis })
    await handle.close()
    return { ok: true }
  } catch (error) {
    return { ok: false, reason: oneLine(error) }
  }
}

/**
 * What to do about an unreachable database, as one paragraph: how to start
 * one locally, or which variable points at yours.
 */
export function howToReach(database: ExampleDatabase, reason: string): string {
  const start =
    database.dialect === 'postgres'
      ? 'docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:15'
      : 'docker run -d -p 3306:3306 -e MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1 -e MARIADB_DATABASE=test mariadb:10.11'
  return (
    `${database.label} is not reachable at ${database.displayUrl} (${reason}). ` +
    `Start one with \`${start}\`, or set ${database.variable} to your server's URL.`
  )
}

export function oneLine(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (error instanceof AggregateError && error.errors.length > 0) return oneLine(error.errors[0])
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0]!.trim() || String(code ?? 'unknown error')
}
