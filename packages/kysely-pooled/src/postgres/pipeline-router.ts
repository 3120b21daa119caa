import { findSessionState } from '@kysely-pooled/core'
import type { CompiledQuery } from 'kysely'
import type { PipelineDispatcher } from './pipeline-dispatcher.js'
import { BIND, type StatementRoute, type StatementRouter, type StatementSituation } from '../shared/statement-route.js'

/**
 * Statements that may share a pipelined connection start with one of these:
 * plain DML and queries. Anything else (transaction control, DDL, COPY,
 * CALL, VACUUM, SET, LISTEN, …) binds: rare in application traffic, and
 * some of it would leave state on the connection or cannot be pipelined.
 */
const SHAREABLE_START =
  /^(?:\s|--[^\n]*\n|\/\*[^*]*\*+(?:[^/*][^*]*\*+)*\/|\()*(?:select|insert|update|delete|with|values|table|merge)\b/i

/**
 * The router of `pipeline: true`: the first statement of a handle goes to
 * the shared connections when it needs no session of its own — a single
 * statement (no `;`), a query or DML by its first word, nothing the session
 * classifier (`findSessionState`) flags (SET, temporary objects, session
 * advisory locks, LISTEN, PREPARE, …). A second statement on the handle, a
 * stream, a transaction: bind. The verdict is cached per SQL text, with
 * what the dispatcher learns of it (`ServiceTimes`).
 *
 * A text the dispatcher has learned to be slow (see `ServiceTimes`: its
 * last runs took `SLOW_MILLIS` or more) binds too, for its run only:
 * pipelined, it would hold up every statement behind it. On its own
 * connection it costs what it costs in exclusive mode (and an abort can
 * cancel it); its runs there are timed too, so a text that turns fast is
 * shared again.
 */
export function pipelineRouter(dispatcher: PipelineDispatcher): StatementRouter {
  const shared: StatementRoute = Object.freeze({ kind: 'shared', target: dispatcher })
  const times = dispatcher.serviceTimes
  const alone: StatementRoute = Object.freeze({
    kind: 'bind',
    timing: Object.freeze({
      ran: (compiledQuery: CompiledQuery, millis: number) => times.record(times.profile(compiledQuery.sql), millis),
    }),
  })
  return {
    route(compiledQuery: CompiledQuery, situation: StatementSituation): StatementRoute {
      if (situation.statementsRun > 0 || situation.streamed) return BIND
      const profile = times.profile(compiledQuery.sql)
      profile.shareable ??= isShareable(compiledQuery.sql)
      if (!profile.shareable) return BIND
      return times.isSlow(profile) ? alone : shared
    },
  }
}

export function isShareable(text: string): boolean {
  // One statement only: a multi-statement text (simple protocol) could open a transaction.
  const semicolon = text.indexOf(';')
  if (semicolon >= 0 && text.slice(semicolon + 1).trim() !== '') return false
  return SHAREABLE_START.test(text) && findSessionState(text) === undefined
}
