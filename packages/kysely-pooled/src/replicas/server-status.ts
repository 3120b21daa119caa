import type { MysqlConnection, PostgresClient } from '@kysely-pooled/core'

/**
 * What one background check learns of a server in one round trip: whether
 * it accepts writes, and how far its data goes (PostgreSQL: the WAL
 * position it wrote or replayed; MariaDB/MySQL: its GTID position).
 */
export interface ServerStatus<P> {
  readonly readOnly: boolean
  readonly position: P | undefined
}

/** How one database is asked for its status, and how two positions compare. */
export interface StatusProbe<C, P> {
  read(connection: C): Promise<ServerStatus<P>>
  /** True when a server at `position` has everything a server at `sample` had. */
  covers(position: P, sample: P): boolean
}

/**
 * PostgreSQL: `pg_is_in_recovery()` (a standby) or `transaction_read_only`
 * (`default_transaction_read_only = on`) means no writes; the position is
 * the primary's current WAL LSN or the standby's replay LSN.
 */
export const postgresStatusProbe: StatusProbe<PostgresClient, bigint> = {
  async read(client) {
    const { rows } = await client.query<{ recovery: boolean; read_only: string; lsn: string | null }>(
      `select pg_is_in_recovery() as recovery, current_setting('transaction_read_only') as read_only,
        (case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end)::text as lsn`,
    )
    const row = rows[0]
    if (row === undefined) throw new Error('no status row')
    return {
      readOnly: row.recovery || row.read_only === 'on',
      position: row.lsn === null ? undefined : parseLsn(row.lsn),
    }
  },
  covers: (position, sample) => position >= sample,
}

/** `16/B374D848` → one number. */
function parseLsn(text: string): bigint {
  const [high = '0', low = '0'] = text.split('/')
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`)
}

/** GTID domain → sequence number: `0-1-42,1-2-7`. */
export type GtidPosition = ReadonlyMap<string, bigint>

/**
 * MariaDB: `@@read_only` means no writes (for users without READ ONLY
 * ADMIN / SUPER); the position is `@@gtid_current_pos` (what the server
 * wrote or applied, per replication domain).
 */
export const mysqlStatusProbe: StatusProbe<MysqlConnection, GtidPosition> = {
  async read(connection) {
    const rows = await new Promise<unknown>((resolve, reject) =>
      connection.query('select @@read_only as read_only, @@gtid_current_pos as position', (error, result) =>
        error ? reject(error) : resolve(result),
      ),
    )
    const row = (rows as { read_only: number | string; position: string | null }[])[0]
    if (row === undefined) throw new Error('no status row')
    return { readOnly: Number(row.read_only) === 1, position: parseGtid(row.position ?? '') }
  },
  covers(position, sample) {
    for (const [domain, sequence] of sample) {
      if ((position.get(domain) ?? -1n) < sequence) return false
    }
    return true
  },
}

function parseGtid(text: string): GtidPosition {
  const position = new Map<string, bigint>()
  for (const part of text.split(',')) {
    const [domain, , sequence] = part.trim().split('-')
    if (domain !== undefined && sequence !== undefined && domain !== '') position.set(domain, BigInt(sequence))
  }
  return position
}
