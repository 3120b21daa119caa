import { scrubError } from './scrub-error.js'

/**
 * The first error or end a connection reports, and who wants to hear of it.
 * A broken connection is never reused, so later errors add nothing.
 */
export class BrokenWatch {
  #error: Error | undefined = undefined
  #listeners: Array<(error: Error) => void> = []

  /** The first error, password-free; `undefined` while the connection is sound. A field read: fine on hot paths. */
  get error(): Error | undefined {
    return this.#error
  }

  /** Records the first error (scrubbed of `password`) and tells each listener once. */
  record(error: Error, password: string | undefined): void {
    if (this.#error !== undefined) return
    const broken = scrubError(error, password)
    this.#error = broken
    const listeners = this.#listeners
    this.#listeners = []
    for (const listener of listeners) {
      try {
        listener(broken)
      } catch {
        // A listener's failure must not turn into an unhandled 'error'.
      }
    }
  }

  /**
   * Marks the connection as closed on purpose: nobody is told (whoever
   * closes it knows), and the socket's own 'close' that follows adds nothing.
   */
  closed(error: Error): void {
    if (this.#error !== undefined) return
    this.#error = error
    this.#listeners = []
  }

  /**
   * Calls `listener` once, when the connection breaks. If it already has, on
   * the next microtask: never synchronously, so a caller sees the same order
   * either way.
   */
  onBroken(listener: (error: Error) => void): void {
    const broken = this.#error
    if (broken !== undefined) {
      queueMicrotask(() => listener(broken))
      return
    }
    this.#listeners.push(listener)
  }
}
