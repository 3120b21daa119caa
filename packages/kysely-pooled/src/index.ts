export { PooledPostgresDialect } from './postgres/pooled-postgres-dialect.js'
export type {
  PooledPostgresDialectConfig,
  PostgresCursor,
  PostgresCursorConstructor,
} from './postgres/pooled-postgres-dialect-config.js'
export { PooledMysqlDialect } from './mysql/pooled-mysql-dialect.js'
export type { PooledMysqlDialectConfig } from './mysql/pooled-mysql-dialect-config.js'
export type { ConnectionHook, PooledDialectConfigBase, PoolFactory } from './shared/pooled-dialect-config.js'
export type { AbortOptions } from './shared/abort-options.js'

// The pool's errors reach Kysely callers unchanged; re-exported so an app
// can `instanceof` them without a second import.
export {
  LeaseReleasedError,
  LeaseRevokedError,
  PoolClosedError,
  PoolConfigError,
  PoolConnectError,
  PoolError,
  PoolQueueFullError,
  PoolTimeoutError,
  SessionStateError,
  StalledStatementError,
} from '@kysely-pooled/core'
export type { PoolErrorCode, PoolerMode, PoolerOption } from '@kysely-pooled/core'

// Replicas and failover (see the README): the read-your-writes scope, and what `dialect.topology` reports.
export { readYourWritesScope } from './replicas/read-your-writes.js'
export type { DialectTopology } from './replicas/dialect-topology.js'
export type { ServerChange, ServerInfo, ServerRole } from './replicas/server-node.js'
