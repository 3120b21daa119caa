/** What the pipeline knows of one statement text. */
export interface ServiceProfile {
  /** The router's verdict (see `isShareable`), cached here with the rest: one map, one lookup. */
  shareable: boolean | undefined
  /** Expected time on the server (ms): rises fast after a slow run, falls slowly. */
  millis: number
  /** Runs in a row that took `SLOW_MILLIS` or more. */
  slowRuns: number
}

/**
 * A run this long is slow: pipelined, it holds up every statement queued
 * behind it on its connection.
 */
export const SLOW_MILLIS = 10

/**
 * Slow runs in a row that make a text slow: it then runs on a connection of
 * its own (see `pipelineRouter`). Client-side timings include the client's
 * own stalls — a GC pause, a CPU-starved process descheduled for a time
 * slice — and under load those reach 10–25 ms for any statement in flight;
 * one stalled run alone must not take a fast text off the pipeline.
 */
const SLOW_RUNS = 2

/** Distinct texts remembered; an application has a few hundred at most. */
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
      profile = { shareable: undefined, millis: Math.min(this.#typical, SLOW_MILLIS / 2), slowRuns: 0 }
      this.#profiles.set(text, profile)
    }
    return profile
  }

  /** Its last runs were slow (a new text is not: it is shared first, and learned from that run). */
  isSlow(profile: ServiceProfile): boolean {
    return profile.slowRuns >= SLOW_RUNS
  }

  record(profile: ServiceProfile, millis: number): void {
    // Up by half the gap, down by a tenth: the expectation placement uses
    // follows a slow run at once and forgets it over a few runs.
    profile.millis += (millis - profile.millis) * (millis > profile.millis ? 0.5 : 0.1)
    // One fast run shares the text again: a text that binds by mistake costs one exclusive run.
    profile.slowRuns = millis >= SLOW_MILLIS ? profile.slowRuns + 1 : 0
    this.#typical += (millis - this.#typical) * 0.01
  }
}
