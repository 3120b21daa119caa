import { Pool, type PoolEventListener, type PoolEventName } from '@kysely-pooled/core'

export interface LivePoolSource<C> {
  readonly dialectName: string
  /** The live pool (or the last one, destroyed, until the next is made); none before a factory first ran. */
  live(): Pool<C> | undefined
  on(event: PoolEventName, listener: PoolEventListener<PoolEventName>): void
  off(event: PoolEventName, listener: PoolEventListener<PoolEventName>): void
}

// What a pool has; reading one of these before a factory made the first
// pool is a mistake worth an error rather than `undefined`.
const POOL_MEMBERS = new Set([
  'config',
  'connector',
  ...Object.getOwnPropertyNames(Pool.prototype).filter((name) => name !== 'constructor'),
])

/**
 * `dialect.pool`: one object for the dialect's life that is always its live
 * pool. Reads and calls go to the pool of the moment (so `stats()` describes
 * it, even when kept in a variable); `on` / `off` are recorded by the dialect
 * and carried over to every new pool. It is a `Pool` for `instanceof` and for
 * the types, so anything taking a core pool (metrics, health checks) takes it.
 */
export function livePoolHandle<C>(source: LivePoolSource<C>): Pool<C> {
  const target = Object.create(Pool.prototype) as Pool<C>
  const handle: Pool<C> = new Proxy(target, {
    get(_target, property) {
      if (property === 'on' || property === 'off') {
        return (event: PoolEventName, listener: PoolEventListener<PoolEventName>) => {
          source[property](event, listener)
          return handle
        }
      }
      const pool = source.live()
      if (pool === undefined) {
        if (typeof property === 'string' && POOL_MEMBERS.has(property)) {
          throw new Error(
            `${source.dialectName}: no pool yet: the pool factory runs when a Kysely instance first uses the dialect (listeners attached with dialect.pool.on() are kept until then)`,
          )
        }
        return Reflect.get(target, property)
      }
      const value: unknown = Reflect.get(pool, property, pool)
      // Bound: the pool's methods use its private fields, which the proxy has not got.
      return typeof value === 'function' ? value.bind(pool) : value
    },
  })
  return handle
}
