import type { AcquireSite } from './acquire-site.js'
import type { Lease } from './lease.js'
import { WaitQueue, type QueuedWaiter } from './wait-queue.js'

/** A caller in the queue. */
export interface Waiter<C> extends QueuedWaiter {
  readonly startedAt: number
  readonly trackGc: boolean
  readonly site: AcquireSite | undefined
  readonly resolve: (lease: Lease<C>) => void
  readonly reject: (error: unknown) => void
  readonly signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

/**
 * The callers waiting for a connection: joining, being served, timing out,
 * leaving through their signal, and being failed all at once. Each path
 * detaches the abort listener exactly once; a waiter settles exactly once.
 */
export class Waiters<C> {
  readonly #queue: WaitQueue<Waiter<C>>
  readonly #onAbort: (waiter: Waiter<C>) => void

  /**
   * @param timeoutErrors given the callers whose deadline passed, makes each one's error (from one snapshot of the pool).
   * @param onAbort told when a caller leaves through its signal.
   */
  constructor(
    timeoutErrors: (expired: readonly Waiter<C>[]) => (waiter: Waiter<C>) => Error,
    onAbort: (waiter: Waiter<C>) => void,
  ) {
    this.#queue = new WaitQueue<Waiter<C>>((expired) => {
      const errorFor = timeoutErrors(expired)
      for (const waiter of expired) {
        this.#settle(waiter)
        waiter.reject(errorFor(waiter))
      }
    })
    this.#onAbort = onAbort
  }

  /** Callers still waiting. */
  get size(): number {
    return this.#queue.size
  }

  join(
    startedAt: number,
    deadline: number,
    signal: AbortSignal | undefined,
    trackGc: boolean,
    site: AcquireSite | undefined,
  ): Promise<Lease<C>> {
    return new Promise<Lease<C>>((resolve, reject) => {
      const waiter: Waiter<C> = {
        deadline,
        settled: false,
        startedAt,
        trackGc,
        site,
        resolve,
        reject,
        signal,
        onAbort: undefined,
      }
      if (signal !== undefined) {
        waiter.onAbort = () => {
          if (!waiter.settled) {
            this.#queue.remove(waiter)
            this.#onAbort(waiter)
            reject(abortReason(signal))
          }
        }
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      this.#queue.push(waiter)
    })
  }

  /** Takes the longest-waiting caller out of the queue; the caller must then be served. */
  next(): Waiter<C> | undefined {
    const waiter = this.#queue.shift()
    if (waiter !== undefined) {
      this.#settle(waiter)
    }
    return waiter
  }

  /** Fails every waiting caller with `error` (shutdown, a server refusing us for good). */
  failAll(error: Error): void {
    for (const waiter of this.#queue.drain()) {
      this.#settle(waiter)
      waiter.reject(error)
    }
  }

  #settle(waiter: Waiter<C>): void {
    if (waiter.onAbort !== undefined) {
      waiter.signal!.removeEventListener('abort', waiter.onAbort)
      waiter.onAbort = undefined
    }
  }
}

export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason
  return reason instanceof Error ? reason : new DOMException('The operation was aborted.', 'AbortError')
}
