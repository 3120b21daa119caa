import { kyselyCeiling, rawCeiling } from './ceilings.js'
import type { Contender } from './contender.js'
import { knexContender } from './knex.js'
import { kyselyPooled, kyselyPooledPipeline } from './kysely-pooled.js'
import { postgresJs } from './postgres-js.js'
import { stockKysely } from './stock-kysely.js'

/** Every contender of the throughput and transaction scenarios (and the profiler), ours first. */
export const ALL_CONTENDERS: readonly Contender[] = Object.freeze([
  kyselyPooled,
  kyselyPooledPipeline,
  stockKysely,
  postgresJs,
  knexContender,
  kyselyCeiling,
  rawCeiling,
])
