export { instrumentPool, type InstrumentPoolOptions, type PoolInstrumentation } from './instrument-pool.js'
export type { InstrumentablePool } from './instrumentable-pool.js'
export { POOL_METRICS, POOL_NAME_ATTRIBUTE, STATE_ATTRIBUTE, DURATION_BUCKETS_SECONDS } from './metric-names.js'
