import diagnostics from 'node:diagnostics_channel'
import type { PoolEventName } from './pool-events.js'

/**
 * The `node:diagnostics_channel` names the pool publishes on, as
 * node-postgres and mysql2 do: debug logging and tracing by convention,
 * with no pool option. Each message is the event's payload plus `pool`, the
 * pool's name.
 */
export const POOL_DIAGNOSTICS_CHANNELS = Object.freeze({
  connect: 'kysely-pooled:pool:connect',
  acquire: 'kysely-pooled:pool:acquire',
  release: 'kysely-pooled:pool:release',
  timeout: 'kysely-pooled:pool:timeout',
  error: 'kysely-pooled:pool:error',
} as const)

/** The channel of each pool event that has one (`create` is published as `connect`). */
export const EVENT_CHANNELS: Readonly<Partial<Record<PoolEventName, diagnostics.Channel>>> = Object.freeze({
  create: diagnostics.channel(POOL_DIAGNOSTICS_CHANNELS.connect),
  acquire: diagnostics.channel(POOL_DIAGNOSTICS_CHANNELS.acquire),
  release: diagnostics.channel(POOL_DIAGNOSTICS_CHANNELS.release),
  timeout: diagnostics.channel(POOL_DIAGNOSTICS_CHANNELS.timeout),
  error: diagnostics.channel(POOL_DIAGNOSTICS_CHANNELS.error),
})
