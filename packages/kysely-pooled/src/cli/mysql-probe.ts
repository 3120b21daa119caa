import type * as mysql from 'mysql2/promise'
import type { DatabaseUrl } from './database-url.js'
import {
  importDriver,
  type ProbeOptions,
  type ProbeSession,
  type ServerFacts,
  type ServerProbe,
} from './server-probe.js'

type MysqlModule = { default: typeof mysql }

export async function createMysqlProbe(url: DatabaseUrl, options: ProbeOptions): Promise<ServerProbe> {
  const { default: driver } = await importDriver<MysqlModule>('mysql2/promise', 'mysql2')
  return {
    async open() {
      const connection = await driver.createConnection({
        uri: url.driverUrl,
        connectTimeout: options.connectTimeoutMillis,
      })
      connection.on('error', () => {})
      return new MysqlSession(connection)
    },
  }
}

class MysqlSession implements ProbeSession {
  readonly #connection: mysql.Connection

  constructor(connection: mysql.Connection) {
    this.#connection = connection
  }

  async selectOne(): Promise<void> {
    await this.#connection.query('SELECT 1')
  }

  async facts(): Promise<ServerFacts> {
    const [rows] = await this.#connection.query<mysql.RowDataPacket[]>(
      'SELECT VERSION() AS version, @@max_connections AS max_connections',
    )
    const [status] = await this.#connection.query<mysql.RowDataPacket[]>("SHOW STATUS LIKE 'Threads_connected'")
    const version = String(rows[0]?.version ?? 'unknown')
    const connected = Number(status[0]?.Value ?? 1)
    return {
      version: /mariadb/i.test(version) ? `MariaDB ${version}` : `MySQL ${version}`,
      maxConnections: Number(rows[0]?.max_connections),
      // MySQL and MariaDB keep their admin slot *above* max_connections.
      reserved: 0,
      reservedDetail: 'none: the admin connection is above max_connections',
      inUse: Math.max(connected - 1, 0),
    }
  }

  async close(): Promise<void> {
    await this.#connection.end().catch(() => this.#connection.destroy())
  }
}
