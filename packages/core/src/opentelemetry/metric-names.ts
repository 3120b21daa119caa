/**
 * The OpenTelemetry semantic-convention names for connection pools
 * (`db.client.connection.*`), as registered by `instrumentPool`.
 */
export const POOL_METRICS = Object.freeze({
  count: 'db.client.connection.count',
  idleMax: 'db.client.connection.idle.max',
  idleMin: 'db.client.connection.idle.min',
  max: 'db.client.connection.max',
  pendingRequests: 'db.client.connection.pending_requests',
  timeouts: 'db.client.connection.timeouts',
  createTime: 'db.client.connection.create_time',
  waitTime: 'db.client.connection.wait_time',
  useTime: 'db.client.connection.use_time',
} as const)

/** Attribute names. */
export const POOL_NAME_ATTRIBUTE = 'db.client.connection.pool.name'
export const STATE_ATTRIBUTE = 'db.client.connection.state'

/** Bucket boundaries in seconds for the three durations: 1 ms up to 10 s. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10])
