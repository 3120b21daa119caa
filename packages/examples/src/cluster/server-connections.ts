import { sql, type Kysely } from 'kysely'
import type { ExampleDialect } from '../shared/databases.js'

export interface ServerLimits {
  readonly maxConnections: number
  /** Slots ordinary users never get (PostgreSQL's superuser_reserved_connections + reserved_connections). */
  readonly reserved: number
  /** Client connections open now, all applications (this one included). */
  readonly inUse: number
}

// The examples read these through any Kysely; the table types do not matter.
type AnyDb = Kysely<object>

export async function readServerLimits(db: AnyDb, dialect: ExampleDialect): Promise<ServerLimits> {
  if (dialect === 'postgres') {
    const { rows } = await sql<{ name: string; setting: string }>`
      select name, setting from pg_settings
       where name in ('max_connections', 'superuser_reserved_connections', 'reserved_connections')`.execute(db)
    const setting = (name: string) => Number(rows.find((r) => r.name === name)?.setting ?? 0)
    const inUse = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity where backend_type = 'client backend'`.execute(db)
    return {
      maxConnections: setting('max_connections'),
      reserved: setting('superuser_reserved_connections') + setting('reserved_connections'),
      inUse: Number(inUse.rows[0]!.n),
    }
  }
  const limits = await sql<{ max: number }>`select @@max_connections as max`.execute(db)
  const status = await sql<{ Value: string }>`show status like 'Threads_connected'`.execute(db)
  return {
    maxConnections: Number(limits.rows[0]!.max),
    // MySQL keeps its admin slot above max_connections.
    reserved: 0,
    inUse: Number(status.rows[0]!.Value),
  }
}

/**
 * How the server tells this application's connections apart: PostgreSQL by
 * `application_name` (set in the workers' URL), MySQL by user name.
 */
export interface ConnectionMarker {
  readonly description: string
  /** The workers' URL, carrying the marker. */
  readonly url: string
  count(db: AnyDb): Promise<number>
}

export function connectionMarker(dialect: ExampleDialect, url: string, runId: string): ConnectionMarker {
  if (dialect === 'postgres') {
    const name = `kp_ex_cluster_${runId}`
    const marked = new URL(url)
    marked.searchParams.set('application_name', name)
    return {
      description: `application_name = '${name}'`,
      url: marked.href,
      async count(db) {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_activity where application_name = ${name}`.execute(db)
        return Number(rows[0]!.n)
      },
    }
  }
  const user = decodeURIComponent(new URL(url).username) || 'root'
  return {
    description: `user = '${user}'`,
    url,
    async count(db) {
      const { rows } = await sql<{ n: number | string }>`
        select count(*) as n from information_schema.processlist where user = ${user}`.execute(db)
      return Number(rows[0]!.n)
    },
  }
}
