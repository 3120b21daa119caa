import fc from 'fast-check'
import type { OracleCase } from './oracle-case.js'
import { FUNCTION_SPELLINGS, PLAIN, render, SEPARATORS, type Spelling } from './spelling.js'

/**
 * PostgreSQL statements that change session state, as templates (see
 * `render`). `plpgsql`: may run as a statement in a DO block; `dynamic`: may
 * run through PL/pgSQL's EXECUTE.
 */
interface StatementBase {
  readonly template: string
  readonly plpgsql: boolean
  readonly dynamic: boolean
}

const STATEMENTS: readonly StatementBase[] = [
  { template: 'SET search_path = «kp_so_other»', plpgsql: true, dynamic: true },
  { template: 'SET SESSION statement_timeout = 4321', plpgsql: true, dynamic: true },
  { template: "SET «application_name» = 'kp_so_{n}'", plpgsql: true, dynamic: true },
  { template: "SET TIME ZONE 'Pacific/Chatham'", plpgsql: true, dynamic: true },
  { template: 'SET ROLE «kp_so_role»', plpgsql: true, dynamic: true },
  { template: 'SET SESSION AUTHORIZATION «kp_so_role»', plpgsql: false, dynamic: false },
  { template: 'SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE', plpgsql: true, dynamic: true },
  { template: 'CREATE TEMP TABLE «kp_so_t{n}» (a int)', plpgsql: true, dynamic: true },
  { template: 'CREATE GLOBAL TEMPORARY TABLE «kp_so_t{n}» (a int)', plpgsql: true, dynamic: true },
  { template: 'CREATE TABLE «pg_temp» . «kp_so_t{n}» (a int)', plpgsql: true, dynamic: true },
  { template: 'CREATE TEMPORARY VIEW «kp_so_v{n}» AS SELECT 1 AS a', plpgsql: true, dynamic: true },
  { template: 'CREATE OR REPLACE TEMP VIEW «kp_so_v{n}» AS SELECT 1 AS a', plpgsql: true, dynamic: true },
  { template: 'CREATE TEMP SEQUENCE «kp_so_s{n}»', plpgsql: true, dynamic: true },
  {
    template: "CREATE FUNCTION «pg_temp» . «kp_so_f{n}» () RETURNS int LANGUAGE sql AS 'SELECT~1'",
    plpgsql: true,
    dynamic: false,
  },
  { template: 'CREATE TEMP TABLE «kp_so_t{n}» AS SELECT 1 AS a', plpgsql: true, dynamic: true },
  { template: 'CREATE TEMP TABLE «kp_so_t{n}» (a int) ON COMMIT PRESERVE ROWS', plpgsql: true, dynamic: true },
  { template: 'SELECT 1 AS a INTO TEMP «kp_so_t{n}»', plpgsql: false, dynamic: false },
  { template: 'SELECT 1 AS a INTO TEMPORARY TABLE «kp_so_t{n}»', plpgsql: false, dynamic: false },
  { template: 'SELECT 1 AS a INTO «pg_temp» . «kp_so_t{n}»', plpgsql: false, dynamic: false },
  { template: 'PREPARE «kp_so_p{n}» AS SELECT 1', plpgsql: false, dynamic: true },
  { template: 'LISTEN «kp_so_c{n}»', plpgsql: true, dynamic: true },
  { template: 'DECLARE «kp_so_k{n}» CURSOR WITH HOLD FOR SELECT 1', plpgsql: false, dynamic: false },
  {
    template: "UPDATE pg_catalog . pg_settings SET setting = '4321' WHERE name = 'statement_timeout'",
    plpgsql: true,
    dynamic: true,
  },
]

/** Calls that change session state, as expressions. */
const CALLS: readonly string[] = [
  "‹set_config›('search_path', 'kp_so_other', false)",
  "‹set_config›('statement_timeout', '4321', false)",
  "‹set_config›('TimeZone', 'Pacific/Chatham', false)",
  "‹set_config›('search_path', 'kp_so_other', 'off')",
  '‹pg_advisory_lock›(1700{n})',
  '‹pg_advisory_lock_shared›(1700{n})',
  '‹pg_try_advisory_lock›(1700{n})',
  '‹pg_try_advisory_lock_shared›(17, {n})',
]

/** Where a call can sit: each runs it. */
const CALL_WRAPPERS: readonly ((call: string) => string)[] = [
  (call) => `SELECT ${call}`,
  (call) => `SELECT * FROM ${call}`,
  (call) => `WITH x AS (SELECT ${call}) SELECT * FROM x`,
  (call) => `EXPLAIN ANALYZE SELECT ${call}`,
  (call) => `explain (analyze, costs off) select ${call}`,
  (call) => `DO $$ BEGIN PERFORM ${call}; END $$`,
  (call) => `DO LANGUAGE 'plpgsql' $q$ BEGIN PERFORM ${call}; END $q$`,
  (call) => `DO $q$ BEGIN PERFORM ${call}; END $q$ LANGUAGE plpgsql`,
  (call) => `SELECT 1; SELECT ${call}`,
  (call) => `/* why */ SELECT ${call}`,
]

/** Where a statement can sit. */
type StatementWrapper = (statement: string, base: StatementBase) => string | undefined
const STATEMENT_WRAPPERS: readonly StatementWrapper[] = [
  (statement) => statement,
  (statement) => `/* a /* nested */ comment */ ${statement}`,
  (statement) => `SELECT 1; ${statement}`,
  (statement, base) => (base.plpgsql ? `DO $$ BEGIN ${statement}; END $$` : undefined),
  (statement, base) => (base.dynamic ? `DO $$ BEGIN EXECUTE '${statement.replaceAll("'", "''")}'; END $$` : undefined),
  (statement, base) => (base.dynamic ? `DO $$ BEGIN EXECUTE format('%s', $s$${statement}$s$); END $$` : undefined),
  // EXPLAIN ANALYZE runs what it explains.
  (statement, base) =>
    /^CREATE TEMP TABLE .* AS SELECT/.test(base.template) ? `EXPLAIN ANALYZE ${statement}` : undefined,
]

/** A spelling per variant number: rotates every obfuscation over the corpus. */
function spellingFor(i: number): Spelling {
  const separators = SEPARATORS.postgres
  const functions = FUNCTION_SPELLINGS.postgres
  return {
    keywordCase: (['upper', 'lower', 'mixed'] as const)[i % 3]!,
    separator: separators[i % separators.length]!,
    quoteNames: i % 2 === 1,
    functionName: functions[i % functions.length]!,
  }
}

/** The fixed corpus: every base in plain spelling and under each wrapper, spellings rotating. */
export function postgresCorpus(): OracleCase[] {
  const cases: OracleCase[] = []
  let n = 0
  const add = (label: string, statements: string[], extra: Partial<OracleCase> = {}): void => {
    cases.push({ label, statements, ...extra })
  }
  for (const base of STATEMENTS) {
    STATEMENT_WRAPPERS.forEach((wrap, w) => {
      const spelling = w === 0 ? PLAIN : spellingFor(n)
      const text = wrap(render(base.template, spelling, 'postgres', n), base)
      if (text !== undefined) add(`${base.template} #${w}`, [text])
      n++
    })
  }
  for (const call of CALLS) {
    CALL_WRAPPERS.forEach((wrap, w) => {
      add(`${call} #${w}`, [wrap(render(call, w === 0 ? PLAIN : spellingFor(n), 'postgres', n))])
      n++
    })
  }
  // set_config's is_local from a column: `t` is not the literal true.
  add('set_config is_local from a column', [
    `SELECT set_config('search_path', 'kp_so_other', t) FROM (SELECT false AS t) s`,
  ])
  // pg_temp first in a transaction-local search_path: the transaction's unqualified CREATE is temporary.
  for (const setter of [
    'SET LOCAL search_path = pg_temp',
    'SET LOCAL search_path TO "pg_temp", public',
    "SELECT set_config('search_path', 'pg_temp', true)",
  ]) {
    add(`${setter}, then CREATE TABLE`, ['BEGIN', setter, `CREATE TABLE kp_so_t${n++} (a int)`, 'COMMIT'])
  }
  add('SET inside a transaction survives COMMIT', ['BEGIN', 'SET statement_timeout = 4321', 'COMMIT'])
  add('cursor WITH HOLD inside a transaction', [
    'BEGIN',
    `DECLARE kp_so_k${n++} CURSOR WITH HOLD FOR SELECT 1`,
    'COMMIT',
  ])
  // Server-side code: invisible in the text.
  add('CALL a procedure that SETs', ['CALL kp_so_proc_set_path()'], { serverSide: true })
  add('call a procedure that creates a temp table', ['call kp_so_proc_temp()'], { serverSide: true })
  add('a function that sets a reported setting (ParameterStatus)', ['SELECT kp_so_fn_timezone()'], {
    serverSide: true,
  })
  return cases
}

/** Obfuscations composed at random over the bases (fast-check, fixed seed). */
export function postgresGenerated(count: number, seed: number, firstN: number): OracleCase[] {
  const spelling = fc.record({
    keywordCase: fc.constantFrom('upper' as const, 'lower' as const, 'mixed' as const),
    separator: fc.constantFrom(...SEPARATORS.postgres),
    quoteNames: fc.boolean(),
    functionName: fc.constantFrom(...FUNCTION_SPELLINGS.postgres),
  })
  const statementCase = fc
    .tuple(fc.constantFrom(...STATEMENTS), fc.constantFrom(...STATEMENT_WRAPPERS), spelling)
    .map(([base, wrap, s]) => ({ kind: 'statement' as const, base, wrap, s }))
  const callCase = fc
    .tuple(fc.constantFrom(...CALLS), fc.integer({ min: 0, max: CALL_WRAPPERS.length - 1 }), fc.boolean(), spelling)
    .map(([call, wrapper, nest, s]) => ({ kind: 'call' as const, call, wrapper, nest, s }))
  const samples = fc.sample(fc.oneof(statementCase, callCase), { seed, numRuns: count * 2 })
  const cases: OracleCase[] = []
  let n = firstN
  for (const sample of samples) {
    if (cases.length === count) break
    let text: string | undefined
    if (sample.kind === 'statement') {
      text = sample.wrap(render(sample.base.template, sample.s, 'postgres', n), sample.base)
    } else {
      // Nested as a scalar subquery, except in FROM (wrapper 1), which needs a call.
      const call = render(sample.call, sample.s, 'postgres', n)
      text = CALL_WRAPPERS[sample.wrapper]!(sample.nest && sample.wrapper !== 1 ? `(SELECT ${call})` : call)
    }
    n++
    if (text !== undefined) cases.push({ label: `generated #${n}`, statements: [text] })
  }
  return cases
}
