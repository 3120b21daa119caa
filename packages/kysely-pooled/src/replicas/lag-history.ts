/** One reading of the primary's position, and when it was taken. */
interface Sample<P> {
  readonly at: number
  readonly position: P
}

const MAX_SAMPLES = 400

/**
 * The primary's recent positions, so that a replica's lag is a time: a
 * replica at position R lacks everything the primary wrote after the last
 * sample R covers, so it is at least as far behind as the oldest sample it
 * does not cover. Measured in the background checks, never on the query
 * path; needs no clock on the servers.
 */
export class LagHistory<P> {
  readonly #covers: (position: P, sample: P) => boolean
  #samples: Sample<P>[] = []

  constructor(covers: (position: P, sample: P) => boolean) {
    this.#covers = covers
  }

  record(position: P, at: number): void {
    if (this.#samples.length >= MAX_SAMPLES) this.#samples = this.#samples.slice(MAX_SAMPLES / 2)
    this.#samples.push({ at, position })
  }

  /** A new primary: the old one's positions say nothing of it. */
  clear(): void {
    this.#samples = []
  }

  /** How far behind a replica at `position` is at `now`; Infinity before anything is known of the primary. */
  lagOf(position: P | undefined, now: number): number {
    if (this.#samples.length === 0 || position === undefined) return Infinity
    for (const sample of this.#samples) {
      if (!this.#covers(position, sample.position)) return Math.max(0, now - sample.at)
    }
    return 0
  }
}
