/**
 * Callers waiting for a connection to go idle (`whenIdle()`). All are woken
 * at once: when it goes idle, breaks or is closed — a connection that will
 * never be idle again must not keep anyone waiting.
 */
export class IdleWaiters {
  #waiters: Array<() => void> = []

  get size(): number {
    return this.#waiters.length
  }

  wait(): Promise<void> {
    return new Promise<void>((resolve) => this.#waiters.push(resolve))
  }

  wakeAll(): void {
    if (this.#waiters.length === 0) return
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }
}
