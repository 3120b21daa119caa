import { AsyncLocalStorage } from 'node:async_hooks'

/** The last write of one async context (one request), in `performance.now()` time. */
interface WriteMark {
  at: number
}

const scopes = new AsyncLocalStorage<WriteMark>()

/**
 * Runs `fn` as one read-your-writes scope (one HTTP request, one job): after
 * a write in it, its reads go to the primary for `readYourWritesMillis`,
 * while reads of other scopes stay on the replicas.
 *
 * ```ts
 * app.use((req, res, next) => readYourWritesScope(next))
 * ```
 *
 * Outside any scope the dialect is its own scope: after a write, every read
 * outside a scope goes to the primary for `readYourWritesMillis` (safe, but
 * it keeps reads off the replicas while writes keep coming).
 */
export function readYourWritesScope<T>(fn: () => T): T {
  return scopes.run({ at: -Infinity }, fn)
}

/** One dialect's read-your-writes window. */
export class ReadYourWrites {
  readonly #millis: number
  /** The writes made outside any scope. */
  readonly #unscoped: WriteMark = { at: -Infinity }

  constructor(millis: number) {
    this.#millis = millis
  }

  wrote(): void {
    ;(scopes.getStore() ?? this.#unscoped).at = performance.now()
  }

  /** True while this context's last write is recent enough that its reads must see it. */
  get pinned(): boolean {
    return this.#millis > 0 && performance.now() - (scopes.getStore() ?? this.#unscoped).at < this.#millis
  }
}
