import { setMaxListeners } from 'node:events'
import type { Pool } from '@kysely-pooled/core'

/** What a server is to the dialect right now. */
export type ServerRole = 'primary' | 'replica' | 'unknown'

/** One server's view, as `dialect.topology.servers()` reports it and `change` events carry. */
export interface ServerInfo {
  /** `host:port`. */
  readonly server: string
  /** Its pool's name (also the OpenTelemetry `db.client.connection.pool.name`). */
  readonly pool: string
  /** `primary`: the server writes go to; `replica`: read-only; `unknown`: not reached yet or down. */
  readonly role: ServerRole
  /** False while it is down (its checks fail), or, for a replica, further behind than `maxReplicaLagMillis`. */
  readonly usable: boolean
  /** How far behind the primary (replicas), in milliseconds; `null` when unknown. */
  readonly lagMillis: number | null
}

/** A `change` event: a server's role or usability changed. */
export interface ServerChange extends ServerInfo {
  readonly previous: { readonly role: ServerRole; readonly usable: boolean }
  /** Why, in words: `check failed: …`, `connection broken`, `promoted`, `lag 1200 ms`, … */
  readonly reason: string
}

/**
 * One server and its own core pool (its own `max`, stats, holders, metrics
 * name). The topology alone moves its fields.
 */
export class ServerNode<C> {
  /** Listed in `connection` (may become the primary) / in `replicas` (serves reads). */
  readonly candidate: boolean
  readonly replica: boolean
  /** Down: its checks fail or its connections broke; up again after a check succeeds. */
  up = false
  readOnly = true
  lagMillis = Infinity
  /** When the lag was measured (`performance.now()`). */
  lagAt = -Infinity
  /** Aborted when the server goes down: callers queued on its pool leave and are routed again. */
  #down = quietController()
  checking = false
  failures = 0
  nextCheckAt = 0

  constructor(
    readonly server: string,
    readonly pool: Pool<C>,
    roles: { candidate: boolean; replica: boolean },
  ) {
    this.candidate = roles.candidate
    this.replica = roles.replica
  }

  get downSignal(): AbortSignal {
    return this.#down.signal
  }

  markDown(): void {
    this.up = false
    this.#down.abort(new Error(`server ${this.server} is down`))
  }

  markUp(): void {
    if (this.#down.signal.aborted) this.#down = quietController()
    this.up = true
  }
}

/** Every caller queued on the server listens to its signal: many listeners are expected. */
function quietController(): AbortController {
  const controller = new AbortController()
  setMaxListeners(0, controller.signal)
  return controller
}
