/** What the dispatcher has learned of one statement text. */
export interface ServiceProfile {
  /** Expected time on the server (ms): rises fast after a slow run, falls slowly. */
  millis: number
}

/**
 * A text expected to take this long or more is slow: pipelined, it would
 * hold up every statement queued behind it on its connection, so it runs
 * on a connection of its own (see `pipelineRouter`). One run has to take
 * twice this to make a text slow: an event-loop stall that delays one
 * answer (a GC pause) does not.
 */
export const SLOW_MILLIS = 5

/** Distinct texts remembered; an application has a few hundred. */
const LIMIT = 2_000

/**
 * How long each statement text keeps a connection busy, learned from the
 * statements that ran: on a pipelined connection a statement is served from
 * the previous one's end (or its own send) to its own end; on a connection
 * of its own, from its send to its end. Used for placement only (where a
 * statement goes): never to refuse, delay or reorder one.
 */
export class ServiceTimes {
  readonly #profiles = new Map<string, ServiceProfile>()
  /** A new text's expectation: what statements typically take here. */
  #typical = 0.1

  profile(text: string): ServiceProfile {
    let profile = this.#profiles.get(text)
    if (profile === undefined) {
      if (this.#profiles.size >= LIMIT) this.#profiles.clear()
      // Not slow until a run says so: a new text is shared first.
      profile = { millis: Math.min(this.#typical, SLOW_MILLIS / 2) }
      this.#profiles.set(text, profile)
    }
    return profile
  }

  /** Learned to take `SLOW_MILLIS` or more (an unknown text is not). */
  isSlow(text: string): boolean {
    const profile = this.#profiles.get(text)
    return profile !== undefined && profile.millis >= SLOW_MILLIS
  }

  record(profile: ServiceProfile, millis: number): void {
    // Up by half the gap, down by a tenth: one slow run makes a text slow
    // at once, a text that turned fast is shared again within a dozen or so runs.
    profile.millis += (millis - profile.millis) * (millis > profile.millis ? 0.5 : 0.1)
    this.#typical += (millis - this.#typical) * 0.01
  }
}
