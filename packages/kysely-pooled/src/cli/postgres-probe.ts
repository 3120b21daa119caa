import type pg from 'pg'
import type { DatabaseUrl } from './database-url.js'
import {
  importDriver,
  type ProbeOptions,
  type ProbeSession,
  type ServerFacts,
  type ServerProbe,
} from './server-probe.js'

type PgModule = { default: typeof pg }

const APPLICATION_NAME = 'kysely-pooled doctor'

export async function createPostgresProbe(url: DatabaseUrl, options: ProbeOptions): Promise<ServerProbe> {
  const { default: driver } = await importDriver<PgModule>('pg', 'pg')
  return {
    async open() {
      const client = new driver.Client({
        connectionString: url.driverUrl,
        connectionTimeoutMillis: options.connectTimeoutMillis,
        application_name: APPLICATION_NAME,
      })
      // An error after connect (server restart) must not crash the doctor.
      client.on('error', () => {})
      try {
        await client.connect()
      } catch (error) {
        await client.end().catch(() => {})
        throw error
      }
      return new PostgresSession(client)
    },
  }
}

class PostgresSession implements ProbeSession {
  readonly #client: pg.Client

  constructor(client: pg.Client) {
    this.#client = client
  }

  async selectOne(): Promise<void> {
    await this.#client.query('SELECT 1')
  }

  async facts(): Promise<ServerFacts> {
    const settings = await this.#client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings
        WHERE name IN ('server_version', 'max_connections', 'superuser_reserved_connections', 'reserved_connections')`,
    )
    const setting = new Map(settings.rows.map((row) => [row.name, row.setting]))
    // backend_type exists since PostgreSQL 10; background workers are not client connections.
    const activity = await this.#client.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
    )
    const superuserReserved = Number(setting.get('superuser_reserved_connections') ?? 0)
    const roleReserved = setting.has('reserved_connections') ? Number(setting.get('reserved_connections')) : undefined
    return {
      version: `PostgreSQL ${setting.get('server_version') ?? 'unknown'}`,
      maxConnections: Number(setting.get('max_connections')),
      reserved: superuserReserved + (roleReserved ?? 0),
      reservedDetail:
        `superuser_reserved_connections ${superuserReserved}` +
        (roleReserved === undefined ? '' : ` + reserved_connections ${roleReserved}`),
      inUse: activity.rows[0]?.count ?? 0,
    }
  }

  async close(): Promise<void> {
    await this.#client.end().catch(() => {})
  }
}
