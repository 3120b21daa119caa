import { EventEmitter } from 'node:events'
import { EVENT_CHANNELS } from './diagnostics-channels.js'
import type { PoolEventListener, PoolEventName, PoolEvents } from './pool-events.js'
import type { PoolLogEntry, PoolLogger } from './pool-options.js'

const ACQUIRE_CHANNEL = EVENT_CHANNELS.acquire!
const RELEASE_CHANNEL = EVENT_CHANNELS.release!

/**
 * The pool's events. Emitting to nobody costs one listener count; a
 * throwing listener never breaks the pool's bookkeeping; and what must be
 * heard (errors, leaks, revokes) goes to the `log` option — by default a
 * process warning — when no listener takes it.
 */
export class PoolEventBus {
  readonly #emitter = new EventEmitter()
  readonly #pool: string
  readonly #log: PoolLogger
  /** Listener counts per event, kept here: EventEmitter's count is a call. */
  readonly #listening: Partial<Record<PoolEventName, number>> = Object.create(null)
  // `acquire` and `release` fire on every lease: each has its own count, so
  // asking costs no lookup by name (measured: ~500 instructions a pair).
  #acquireListeners = 0
  #releaseListeners = 0

  constructor(pool: string, log: PoolLogger | undefined) {
    this.#pool = pool
    this.#log = log ?? emitProcessWarning
  }

  on<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): void {
    this.#emitter.on(event, listener)
    this.#count(event)
  }

  off<E extends PoolEventName>(event: E, listener: PoolEventListener<E>): void {
    this.#emitter.off(event, listener)
    this.#count(event)
  }

  #count(event: PoolEventName): void {
    const count = this.#emitter.listenerCount(event)
    this.#listening[event] = count
    if (event === 'acquire') {
      this.#acquireListeners = count
    } else if (event === 'release') {
      this.#releaseListeners = count
    }
  }

  /** `wants('acquire')`, for the hot path. */
  get wantsAcquire(): boolean {
    return this.#acquireListeners > 0 || ACQUIRE_CHANNEL.hasSubscribers
  }

  /** `wants('release')`, for the hot path. */
  get wantsRelease(): boolean {
    return this.#releaseListeners > 0 || RELEASE_CHANNEL.hasSubscribers
  }

  /** Listened to, or its diagnostics channel subscribed: worth building a payload for. */
  wants(event: PoolEventName): boolean {
    return (this.#listening[event] ?? 0) > 0 || EVENT_CHANNELS[event]?.hasSubscribers === true
  }

  emit<E extends PoolEventName>(event: E, payload: PoolEvents[E]): void {
    this.#publish(event, payload)
    if (!this.#hears(event)) {
      return
    }
    try {
      this.#emitter.emit(event, payload)
    } catch (error) {
      if (event === 'error') {
        this.log('error', 'KYSELY_POOLED_ERROR', `an 'error' listener threw`, asError(error))
      } else {
        this.error(asError(error), `a '${event}' listener threw`)
      }
    }
  }

  /**
   * An error no caller is waiting on: to the `'error'` listeners, else to
   * the log. A diagnostics subscriber sees it either way; it handles nothing.
   */
  error(error: Error, context: string): void {
    if (this.#hears('error')) {
      this.emit('error', { error, context })
    } else {
      this.#publish('error', { error, context })
      this.log('error', 'KYSELY_POOLED_ERROR', `${context}: ${error.message}`, error)
    }
  }

  /** To the event's listeners, else a warning in the log. */
  emitOrWarn<E extends 'leak' | 'revoke'>(event: E, payload: PoolEvents[E], code: string, message: string): void {
    if (this.#hears(event)) {
      this.emit(event, payload)
    } else {
      this.log('warn', code, message)
    }
  }

  #hears(event: PoolEventName): boolean {
    return (this.#listening[event] ?? 0) > 0
  }

  /** One message per event on its diagnostics channel; nothing built when nobody subscribes. */
  #publish<E extends PoolEventName>(event: E, payload: PoolEvents[E]): void {
    const channel = EVENT_CHANNELS[event]
    // A throwing subscriber cannot break the pool: Node reports it on a later tick.
    if (channel?.hasSubscribers) {
      channel.publish({ pool: this.#pool, ...payload })
    }
  }

  log(level: PoolLogEntry['level'], code: string, message: string, error?: Error): void {
    try {
      this.#log({
        level,
        pool: this.#pool,
        code,
        message: `pool "${this.#pool}": ${message}`,
        ...(error ? { error } : {}),
      })
    } catch {
      // A failing logger has nowhere left to report to.
    }
  }
}

function emitProcessWarning(entry: PoolLogEntry): void {
  process.emitWarning(entry.message, { code: entry.code, ...(entry.error?.stack ? { detail: entry.error.stack } : {}) })
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
