import fc from 'fast-check'
import type { OracleCase } from './oracle-case.js'
import { FUNCTION_SPELLINGS, PLAIN, render, SEPARATORS, type Spelling } from './spelling.js'

/** MySQL/MariaDB statements that change session state, as templates (see `render`). */
const STATEMENTS: readonly string[] = [
  'SET @kp_so_v{n} = 1',
  'SET @`kp_so_v{n}` = 1',
  "SET @'kp_so_v{n}' := 1",
  'SELECT @kp_so_v{n} := 1',
  'SELECT @`kp_so_v{n}` := 1',
  "SELECT @'kp_so_v{n}' := 1",
  'SELECT @"kp_so_v{n}" := 1',
  'SELECT 1 INTO @kp_so_v{n}',
  'SELECT 1 , 2 INTO @kp_so_v{n} , @kp_so_w{n}',
  'SET NAMES latin1',
  'SET CHARACTER SET latin1',
  "SET @@session.sql_mode = 'ANSI'",
  "SET SESSION time_zone = '+03:00'",
  'SET autocommit = 0',
  'SET @@autocommit = 0',
  'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
  'SET TRANSACTION READ ONLY',
  'SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED',
  'SET ROLE «kp_so_role»',
  'USE «kp_so_other»',
  'CREATE TEMPORARY TABLE «kp_so_t{n}» (a int)',
  'CREATE OR REPLACE TEMPORARY TABLE «kp_so_t{n}» AS SELECT 1 AS a',
  "SELECT ‹GET_LOCK›('kp_so_l{n}', 0)",
  "DO ‹GET_LOCK›('kp_so_l{n}', 0)",
  "PREPARE «kp_so_p{n}» FROM 'SELECT~1'",
  'LOCK TABLES «kp_so_items» READ',
  'LOCK TABLE «kp_so_items» WRITE',
  'HANDLER «kp_so_items» OPEN AS «kp_so_h{n}»',
  "SET STATEMENT max_statement_time = 10 FOR SELECT ‹GET_LOCK›('kp_so_l{n}', 0)",
]

/** Where a statement can sit: executable comments run their content. */
const WRAPPERS: readonly ((statement: string) => string)[] = [
  (statement) => statement,
  (statement) => `/*! ${statement} */`,
  (statement) => `/*!40101 ${statement} */`,
  (statement) => `/*M!100100 ${statement} */`,
  (statement) => `# a comment line\n${statement}`,
  (statement) => `/* a comment */ ${statement}`,
]

function spellingFor(i: number): Spelling {
  const separators = SEPARATORS.mysql
  const functions = FUNCTION_SPELLINGS.mysql
  return {
    keywordCase: (['upper', 'lower', 'mixed'] as const)[i % 3]!,
    // Executable comments end at `*/`, and a `#`/`-- ` line comment would swallow it.
    separator: separators[i % separators.length]!,
    quoteNames: i % 2 === 1,
    functionName: functions[i % functions.length]!,
  }
}

/** A wrapper that cannot take a statement spelled with line comments (they would swallow the closing `*\/`). */
function fits(wrapper: number, spelling: Spelling): boolean {
  return wrapper === 0 || wrapper >= 4 || !/[#-]/.test(spelling.separator)
}

export function mysqlCorpus(): OracleCase[] {
  const cases: OracleCase[] = []
  let n = 0
  for (const template of STATEMENTS) {
    WRAPPERS.forEach((wrap, w) => {
      let spelling = w === 0 ? PLAIN : spellingFor(n)
      if (!fits(w, spelling)) spelling = { ...spelling, separator: ' /* c */ ' }
      cases.push({ label: `${template} #${w}`, statements: [wrap(render(template, spelling, 'mysql', n))] })
      n++
    })
  }
  // Comments before := and after INTO.
  cases.push({ label: 'comment before :=', statements: [`SELECT @kp_so_v${n++} /* c */ := 1`] })
  cases.push({ label: 'comment after INTO', statements: [`SELECT 1 INTO /* c */ @kp_so_v${n++}`] })
  cases.push({ label: 'LAST_INSERT_ID(expr)', statements: ['SELECT LAST_INSERT_ID(4242)'] })
  cases.push({
    label: 'a procedure that sets a session variable',
    statements: ['CALL kp_so_proc_set_mode()'],
    serverSide: true,
  })
  return cases
}

export function mysqlGenerated(count: number, seed: number, firstN: number): OracleCase[] {
  const arbitrary = fc.record({
    template: fc.constantFrom(...STATEMENTS),
    wrapper: fc.integer({ min: 0, max: WRAPPERS.length - 1 }),
    spelling: fc.record({
      keywordCase: fc.constantFrom('upper' as const, 'lower' as const, 'mixed' as const),
      separator: fc.constantFrom(...SEPARATORS.mysql),
      quoteNames: fc.boolean(),
      functionName: fc.constantFrom(...FUNCTION_SPELLINGS.mysql),
    }),
  })
  let n = firstN
  return fc.sample(arbitrary, { seed, numRuns: count }).map(({ template, wrapper, spelling }) => {
    const fitting = fits(wrapper, spelling) ? spelling : { ...spelling, separator: '/**/' }
    const text = WRAPPERS[wrapper]!(render(template, fitting, 'mysql', n))
    n++
    return { label: `generated #${n}`, statements: [text] }
  })
}
