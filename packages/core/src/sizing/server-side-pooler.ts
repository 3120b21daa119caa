/** The server a sizing is for: it decides which server-side pooler to advise. */
export type SizingDatabase = 'postgres' | 'mysql'

/**
 * What to put in front of the server when one server's connection limit is
 * not enough. PgBouncer speaks only the PostgreSQL protocol; for MySQL and
 * MariaDB the multiplexing proxy is ProxySQL.
 */
export function serverSidePoolerAdvice(database: SizingDatabase | undefined): string {
  switch (database) {
    case 'postgres':
      return 'put PgBouncer in transaction mode in front (size it with kysely-pooled doctor --pooler transaction --pooler-pool-size P)'
    case 'mysql':
      return 'put ProxySQL in front (it multiplexes client connections onto fewer server connections while sessions hold no state)'
    default:
      return 'put a server-side pooler in front (PgBouncer for PostgreSQL, ProxySQL for MySQL/MariaDB)'
  }
}
