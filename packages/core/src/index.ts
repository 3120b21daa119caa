export type {
  ConnectFailureKind,
  ConnectionHandle,
  ConnectOptions,
  Connector,
  InterruptScope,
  TransactionState,
} from './connector/connector.js'
export type { ConnectorOptions } from './connector/connector-options.js'
export { StalledStatementError } from './connector/stalled-statement-error.js'
export { postgresConnector, type PostgresConnectorOptions } from './connector/postgres-connector.js'
export { mysqlConnector, type MysqlConnectorOptions } from './connector/mysql-connector.js'
export type {
  PostgresClient,
  PostgresClientConfig,
  PostgresQueryConfig,
  PostgresQueryResult,
  PostgresRow,
} from './connector/driver-types/postgres-client.js'
export type {
  MysqlConnection,
  MysqlConnectionOptions,
  MysqlQuery,
  MysqlSslOptions,
  MysqlTypeCast,
  MysqlTypeCastField,
} from './connector/driver-types/mysql-connection.js'
export {
  poolerProblem,
  resolvePooler,
  type PoolerMode,
  type PoolerOption,
  type PoolerSettings,
} from './pooler/pooler-option.js'
export { findSessionState, type SessionStateFinding, type SessionStateKind } from './pooler/session-state-classifier.js'
export { isPlainRead } from './routing/plain-read.js'

export { createPool, Pool, type AcquireOptions, type DestroyOptions } from './pool/pool.js'
export { Lease } from './pool/lease.js'
export { captureAcquireSite, type AcquireSite } from './pool/acquire-site.js'
export {
  POOL_DEFAULTS,
  resolvePoolOptions,
  type PoolConfig,
  type PoolLogEntry,
  type PoolLogger,
  type PoolOptions,
  type ResetPolicy,
} from './pool/pool-options.js'
export type { PoolStats } from './pool/pool-stats.js'
export type { TimeFigures } from './pool/time-figures.js'
export type { HolderInfo } from './errors/holder-info.js'
export type { DestroyReason, PoolEventListener, PoolEventName, PoolEvents } from './pool/pool-events.js'
export { POOL_DIAGNOSTICS_CHANNELS } from './pool/diagnostics-channels.js'

export { PoolError, type PoolErrorCode } from './errors/pool-error.js'
export { PoolTimeoutError, type PoolTimeoutDetails, type PoolTimeoutReason } from './errors/pool-timeout-error.js'
export { PoolQueueFullError } from './errors/pool-queue-full-error.js'
export { PoolClosedError } from './errors/pool-closed-error.js'
export { PoolConfigError } from './errors/pool-config-error.js'
export { PoolConnectError } from './errors/pool-connect-error.js'
export { LeaseReleasedError } from './errors/lease-released-error.js'
export { LeaseRevokedError, type LeaseRevokeReason } from './errors/lease-revoked-error.js'
export { SessionStateError } from './errors/session-state-error.js'

export {
  DEFAULT_HEADROOM_RATIO,
  PGBOUNCER_DEFAULT_MAX_CLIENT_CONN,
  recommendPoolSize,
  PoolSizingError,
  type PoolerSizeInput,
  type PoolerSizeRecommendation,
  type PoolSizeInput,
  type PoolSizeRecommendation,
  type SizingDatabase,
} from './sizing/recommend-pool-size.js'
export { serverSidePoolerAdvice } from './sizing/server-side-pooler.js'
