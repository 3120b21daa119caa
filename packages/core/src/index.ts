export type {
  ConnectFailureKind,
  ConnectOptions,
  Connector,
  InterruptScope,
  TransactionState,
} from './connector/connector.js'
export { postgresConnector, type PostgresConnectorOptions } from './connector/postgres-connector.js'
export { mysqlConnector, type MysqlConnectorOptions } from './connector/mysql-connector.js'
export { poolerProblem, resolvePooler, type PoolerMode, type PoolerOption, type PoolerSettings } from './pooler/pooler-option.js'
export { findSessionState, type SessionStateFinding, type SessionStateKind } from './pooler/session-state-classifier.js'

export { createPool, Pool, type AcquireOptions, type DestroyOptions } from './pool/pool.js'
export { Lease } from './pool/lease.js'
export {
  POOL_DEFAULTS,
  resolvePoolOptions,
  type PoolConfig,
  type PoolOptions,
  type ResetPolicy,
} from './pool/pool-options.js'
export type { PoolStats } from './pool/pool-stats.js'
export type { TimeFigures } from './pool/time-figures.js'
export type { HolderInfo } from './pool/holder-info.js'
export type { DestroyReason, PoolEventListener, PoolEventName, PoolEvents } from './pool/pool-events.js'

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
  recommendPoolSize,
  PoolSizingError,
  type PoolSizeInput,
  type PoolSizeRecommendation,
} from './sizing/recommend-pool-size.js'
