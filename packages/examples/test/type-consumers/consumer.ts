// Compiled, never run: what an application writes against the published
// types. type-consumers.test.ts compiles it as ESM and CommonJS projects,
// under `strict` with and without `exactOptionalPropertyTypes`.
import { createPool, mysqlConnector, POOL_DIAGNOSTICS_CHANNELS, postgresConnector } from '@kysely-pooled/core'
import { instrumentPool } from '@kysely-pooled/core/opentelemetry'
import { Kysely } from 'kysely'
import { PooledMysqlDialect, PooledPostgresDialect, StalledStatementError, type PoolErrorCode } from 'kysely-pooled'
import type { ConnectionOptions } from 'mysql2'
import type { ClientConfig } from 'pg'

interface DB {
  person: { id: number; name: string }
}

// The drivers' own config types, as an application already has them.
declare const pgConfig: ClientConfig
declare const mysqlConfig: ConnectionOptions

export const pgDb = new Kysely<DB>({ dialect: new PooledPostgresDialect({ connection: pgConfig }) })
export const mysqlDb = new Kysely<DB>({ dialect: new PooledMysqlDialect({ connection: mysqlConfig }) })
export const pgPool = createPool(postgresConnector(pgConfig), { max: 5 })
export const mysqlPool = createPool(mysqlConnector(mysqlConfig), { max: 5 })

// Literals: pg's newer options and TLS options (completed by editors, checked by tsc).
export const tlsPg = new PooledPostgresDialect({
  connection: {
    host: 'db.internal',
    enableChannelBinding: true,
    sslnegotiation: 'direct',
    ssl: { ca: '-----BEGIN CERTIFICATE-----', servername: 'db.internal', rejectUnauthorized: true },
  },
})
export const tlsMysql = new PooledMysqlDialect({
  connection: {
    host: 'db.internal',
    ssl: { ca: '-----BEGIN CERTIFICATE-----', rejectUnauthorized: true },
    typeCast: (field, next) => (field.type === 'TINY' && field.length === 1 ? field.string() === '1' : next()),
  },
})

// A typeCast written against mysql2's own `Field` type.
const castJson: ConnectionOptions['typeCast'] = (field, next) =>
  field.type === 'JSON' ? (JSON.parse(field.string() ?? 'null') as unknown) : next()
export const withCast = new PooledMysqlDialect({ connection: { uri: 'mysql://app@db/app', typeCast: castJson } })

export const stalled: PoolErrorCode = new StalledStatementError('postgres://db/app', 1_000).code
export const channels: string = POOL_DIAGNOSTICS_CHANNELS.acquire
export const instrument: typeof instrumentPool = instrumentPool

export async function scoped(): Promise<number> {
  await using lease = await pgPool.acquire()
  return lease.id
}
