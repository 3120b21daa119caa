import { tokenizeSql, type SqlToken } from './sql-tokens.js'
import { callArguments, excerptOf, hasWords, isName, isPunct, isWord, skipParentheses } from './sql-token-match.js'

/**
 * The statement kinds a transaction pooler would leak: each leaves state on
 * the server connection after the transaction ends, where the pooler hands it
 * to another client.
 */
export type SessionStateKind =
  | 'SET'
  | 'RESET'
  | 'set_config(…, false)'
  | 'session advisory lock'
  | 'LISTEN'
  | 'UNLISTEN'
  | 'PREPARE'
  | 'EXECUTE'
  | 'DEALLOCATE'
  | 'DECLARE … WITH HOLD'
  | 'temporary object'
  | 'LOAD'
  | 'DISCARD'
  | 'named prepared statement'
  | 'dynamic SQL'

/** What the guard found: the first statement that would outlive its transaction. */
export interface SessionStateFinding {
  readonly kind: SessionStateKind
  /** The statement's words, literals elided (`SET search_path = '…'`): safe to log. */
  readonly excerpt: string
  /** Found inside a DO block's body. */
  readonly inDoBlock: boolean
}

/** What to do instead, per kind: each message names it. */
export const SAFE_ALTERNATIVES: Readonly<Record<SessionStateKind, string>> = Object.freeze({
  SET: 'use SET LOCAL (or set_config(name, value, true)) inside a transaction; a setting every session needs belongs on the role or database (ALTER ROLE … SET …) or in the pooler’s connect_query',
  RESET: 'make settings with SET LOCAL inside a transaction: they end with it and need no RESET',
  'set_config(…, false)': 'use set_config(name, value, true) inside a transaction',
  'session advisory lock':
    'use pg_advisory_xact_lock / pg_try_advisory_xact_lock inside a transaction (released at COMMIT or ROLLBACK)',
  LISTEN:
    "LISTEN on a connection of its own that bypasses the pooler (pooler: 'none', straight to the server); NOTIFY itself is fine",
  UNLISTEN: "LISTEN/UNLISTEN on a connection of its own that bypasses the pooler (pooler: 'none')",
  PREPARE: 'use parameterised queries (the unnamed statement: query(text, values))',
  EXECUTE: 'use parameterised queries (the unnamed statement: query(text, values)) instead of PREPARE/EXECUTE',
  DEALLOCATE:
    'nothing to deallocate with parameterised queries; a client DEALLOCATE also breaks the pooler’s own prepared-statement tracking',
  'DECLARE … WITH HOLD':
    'DECLARE the cursor without WITH HOLD inside a transaction and FETCH before COMMIT (or stream the query)',
  'temporary object':
    'CREATE TEMP TABLE … ON COMMIT DROP inside a transaction (temporary views and sequences cannot be dropped on commit: use a regular object or a CTE); a transaction-local search_path must be a literal without pg_temp, since pg_temp first makes every unqualified CREATE temporary',
  LOAD: 'preload the library on the server (shared_preload_libraries / session_preload_libraries)',
  DISCARD:
    'send nothing: the pooler resets server connections itself (server_reset_query), and a client’s DISCARD hits whichever server connection the pooler picked',
  'named prepared statement':
    "drop `name` so pg uses the unnamed statement, or run PgBouncer >= 1.21 with max_prepared_statements > 0 (it tracks protocol-level prepared statements; Debian 12's 1.18 does not) and set pooler: { mode: 'transaction', preparedStatements: true }",
  'dynamic SQL':
    "build the SQL on the client (a DO block's EXECUTE of an expression, or a body in another language, cannot be read before it runs), or run it on a connection that bypasses the pooler (pooler: 'none')",
})

/** Session-level advisory lock functions; the `_xact_` forms are released at transaction end. */
const SESSION_LOCK_FUNCTIONS = new Set([
  'pg_advisory_lock',
  'pg_advisory_lock_shared',
  'pg_try_advisory_lock',
  'pg_try_advisory_lock_shared',
  'pg_advisory_unlock',
  'pg_advisory_unlock_shared',
  'pg_advisory_unlock_all',
])

/** `set_config`'s third argument spellings that mean `is_local = true` (a bare `t` would be a column). */
const LOCAL_TRUE_STRINGS = new Set(['true', 't', 'on', 'yes', 'y', '1'])

/** Statement-start keywords refused outright. */
const REFUSED_STARTS: ReadonlyMap<string, SessionStateKind> = new Map<string, SessionStateKind>([
  ['reset', 'RESET'],
  ['listen', 'LISTEN'],
  ['unlisten', 'UNLISTEN'],
  ['execute', 'EXECUTE'],
  ['deallocate', 'DEALLOCATE'],
  ['load', 'LOAD'],
  ['discard', 'DISCARD'],
])

/** In PL/pgSQL a statement may also start right after these words. */
const PLPGSQL_BLOCK_WORDS = new Set(['begin', 'then', 'else', 'loop'])

/** EXPLAIN's options before the statement it explains (and, with ANALYZE, runs). */
const EXPLAIN_OPTIONS = new Set(['analyze', 'analyse', 'verbose'])

/** `pg_temp` and the backend's own `pg_temp_N`: names in them are temporary objects. */
const TEMP_SCHEMA = /^pg_temp(?:_\d+)?$/

type Mode = 'sql' | 'plpgsql'

/**
 * How strict to be. `guard` (the transaction-pooler guard) refuses what it
 * can prove leaves state, plus what it cannot read in a DO block. `sniff`
 * (`reset: 'auto'`) also flags what it cannot see into at all — every DO
 * block, CALL, an unterminated text — since a false positive there costs only
 * one reset.
 */
export type ClassifierStrictness = 'guard' | 'sniff'

/**
 * Finds the first statement in `sql` that would leave session-level state
 * behind after its transaction, or `undefined`. Pure; reads literals,
 * comments, dollar quoting, quoted and `U&` identifiers and case as
 * PostgreSQL does, so a keyword inside a string or comment never counts and
 * a quoted or escaped name always does. Looks past `EXPLAIN [ANALYZE]`, into
 * CTEs, `FROM` calls and DO bodies (in any clause order).
 *
 * Transaction-scoped forms pass anywhere (`SET LOCAL`, `SET TRANSACTION`,
 * `set_config(…, true)`, `pg_advisory_xact_lock`, `DECLARE` without `HOLD`,
 * `CREATE TEMP TABLE … ON COMMIT DROP`, `PREPARE TRANSACTION`): outside a
 * transaction they end with the statement, so they leave nothing either —
 * except a transaction-local `search_path` that puts `pg_temp` first, which
 * makes the transaction's unqualified `CREATE`s temporary objects.
 *
 * Not visible from the text, hence not refused: functions, procedures,
 * triggers, views and column defaults that change settings internally.
 */
export function findSessionState(sql: string): SessionStateFinding | undefined {
  return classifyPostgres(sql, 'guard')
}

/** `findSessionState` at either strictness; with `'sniff'` the finding's kind may be a stand-in (`dynamic SQL`). */
export function classifyPostgres(sql: string, strictness: ClassifierStrictness): SessionStateFinding | undefined {
  const found = classify(sql, 'sql', false, strictness, false)
  // With standard_conforming_strings off a backslash escapes a quote: read it both ways.
  if (found !== undefined || !sql.includes('\\')) return found
  return classify(sql, 'sql', false, strictness, true)
}

function classify(
  sql: string,
  mode: Mode,
  inDoBlock: boolean,
  strictness: ClassifierStrictness,
  backslashEscapes: boolean,
): SessionStateFinding | undefined {
  const { statements, unterminated } = tokenizeSql(sql, 'postgres', { backslashEscapes })
  if (unterminated && strictness === 'sniff') {
    return { kind: 'dynamic SQL', excerpt: excerptOf(statements.flat()), inDoBlock }
  }
  for (const tokens of statements) {
    const found = classifyStatement(tokens, mode, inDoBlock, strictness)
    if (found !== undefined) return found
  }
  return undefined
}

function classifyStatement(
  tokens: readonly SqlToken[],
  mode: Mode,
  inDoBlock: boolean,
  strictness: ClassifierStrictness,
): SessionStateFinding | undefined {
  const finding = (kind: SessionStateKind): SessionStateFinding => ({ kind, excerpt: excerptOf(tokens), inDoBlock })

  for (const start of statementStarts(tokens, mode)) {
    const kind = startKind(tokens, start, mode)
    if (kind !== undefined) return finding(kind)
    if (isWord(tokens[start], 'do') && mode === 'sql') {
      if (strictness === 'sniff') return finding('dynamic SQL')
      const inner = classifyDoBlock(tokens, start, strictness)
      if (inner !== undefined) return inner
    }
    if (isWord(tokens[start], 'call') && strictness === 'sniff') return finding('dynamic SQL')
  }
  if (mode === 'plpgsql') {
    const dynamic = dynamicExecute(tokens, strictness)
    if (dynamic !== undefined) return dynamic === 'unreadable' ? finding('dynamic SQL') : dynamic
  }
  const kind = functionCallKind(tokens) ?? updatesSettingsView(tokens)
  return kind === undefined ? undefined : finding(kind)
}

/**
 * `DO [LANGUAGE l] body` or `DO body LANGUAGE l`: the body is classified as
 * PL/pgSQL; a body in another language cannot be read, so it is refused.
 */
function classifyDoBlock(
  tokens: readonly SqlToken[],
  start: number,
  strictness: ClassifierStrictness,
): SessionStateFinding | undefined {
  let language = 'plpgsql'
  let body: string | undefined
  for (let i = start + 1; i < tokens.length; i++) {
    const token = tokens[i]!
    if (isWord(token, 'language') && tokens[i + 1] !== undefined) {
      language = tokens[i + 1]!.text.toLowerCase()
      i++
    } else if (token.kind === 'string' && body === undefined) {
      body = token.text
    }
  }
  if (language !== 'plpgsql' || body === undefined) {
    return { kind: 'dynamic SQL', excerpt: excerptOf(tokens), inDoBlock: true }
  }
  return classify(body, 'plpgsql', true, strictness, false)
}

/**
 * PL/pgSQL's `EXECUTE` runs SQL built at run time: a lone literal is read in
 * turn; anything else (`format(…)`, `'…' || x`) cannot be, so it is unreadable.
 */
function dynamicExecute(
  tokens: readonly SqlToken[],
  strictness: ClassifierStrictness,
): SessionStateFinding | 'unreadable' | undefined {
  for (let i = 0; i < tokens.length; i++) {
    if (!isWord(tokens[i], 'execute')) continue
    const literal = tokens[i + 1]
    const after = tokens[i + 2]
    const lone = after === undefined || isWord(after, 'using') || isWord(after, 'into')
    if (literal?.kind !== 'string' || !lone) return 'unreadable'
    const inner = classify(literal.text, 'sql', true, strictness, false)
    if (inner !== undefined) return inner
  }
  return undefined
}

/** Token indexes where a statement starts: 0 (past EXPLAIN), and in PL/pgSQL after BEGIN/THEN/ELSE/LOOP. */
function statementStarts(tokens: readonly SqlToken[], mode: Mode): number[] {
  const starts = [pastExplain(tokens, 0)]
  if (mode === 'plpgsql') {
    tokens.forEach((token, i) => {
      if (token.kind === 'word' && PLPGSQL_BLOCK_WORDS.has(token.text) && i + 1 < tokens.length) starts.push(i + 1)
    })
  }
  return starts
}

/** The index of the statement an `EXPLAIN [ANALYZE] [VERBOSE] | EXPLAIN (…)` prefix explains. */
function pastExplain(tokens: readonly SqlToken[], start: number): number {
  if (!isWord(tokens[start], 'explain')) return start
  let i = start + 1
  for (;;) {
    if (isPunct(tokens[i], '(')) i = skipParentheses(tokens, i)
    else if (tokens[i]?.kind === 'word' && EXPLAIN_OPTIONS.has(tokens[i]!.text)) i++
    else return i
  }
}

/** The kind refused for the statement starting at `start`, by its leading keywords. */
function startKind(tokens: readonly SqlToken[], start: number, mode: Mode): SessionStateKind | undefined {
  const first = tokens[start]
  if (first?.kind !== 'word') return undefined
  const second = tokens[start + 1]
  switch (first.text) {
    case 'set':
      if (isWord(second, 'local')) return searchPathWithTemp(tokens.slice(start + 2)) ? 'temporary object' : undefined
      // TRANSACTION and CONSTRAINTS end with the transaction; SESSION
      // (incl. SESSION AUTHORIZATION / CHARACTERISTICS) and plain SET do not.
      return isWord(second, 'transaction') || isWord(second, 'constraints') ? undefined : 'SET'
    case 'prepare':
      // PREPARE TRANSACTION is two-phase commit, not a prepared statement.
      return isWord(second, 'transaction') ? undefined : 'PREPARE'
    case 'declare':
      // In PL/pgSQL, DECLARE opens a block's variable section.
      if (mode === 'plpgsql') return undefined
      return hasWords(tokens, start, ['with', 'hold']) ? 'DECLARE … WITH HOLD' : undefined
    case 'execute':
      // PL/pgSQL's EXECUTE is dynamic SQL (read by `dynamicExecute`).
      return mode === 'plpgsql' ? undefined : 'EXECUTE'
    case 'create':
      return createsTemporaryObject(tokens, start) ? 'temporary object' : selectIntoTemp(tokens, start, mode)
    default:
      return REFUSED_STARTS.get(first.text) ?? selectIntoTemp(tokens, start, mode)
  }
}

/** `search_path [=|TO] value…` naming `pg_temp` (or not a literal list): unqualified CREATEs would make temporary objects. */
function searchPathWithTemp(rest: readonly SqlToken[]): boolean {
  if (!isName(rest[0], 'search_path')) return false
  return rest.slice(1).some((token) => TEMP_SCHEMA.test(token.text.trim().toLowerCase()) || mentionsTemp(token))
}

function mentionsTemp(token: SqlToken): boolean {
  return token.kind === 'string' && /(^|[\s,"])pg_temp/i.test(token.text)
}

/**
 * `CREATE [OR REPLACE] [GLOBAL|LOCAL] TEMP|TEMPORARY …` or a name qualified
 * with `pg_temp` (quoted or not): refused unless it is a table dropped on commit.
 */
function createsTemporaryObject(tokens: readonly SqlToken[], start: number): boolean {
  let i = start + 1
  if (isWord(tokens[i], 'or') && isWord(tokens[i + 1], 'replace')) i += 2
  if (isWord(tokens[i], 'global') || isWord(tokens[i], 'local')) i++
  const explicit = isWord(tokens[i], 'temp') || isWord(tokens[i], 'temporary')
  if (explicit) i++
  const qualified = tokens.some((token, j) => j > start && isTempSchema(token) && isPunct(tokens[j + 1], '.'))
  if (!explicit && !qualified) return false
  const isTable = explicit ? isWord(tokens[i], 'table') : hasWords(tokens, start, ['table'])
  return !(isTable && hasWords(tokens, start, ['on', 'commit', 'drop']))
}

function isTempSchema(token: SqlToken | undefined): boolean {
  if (token?.kind === 'word') return TEMP_SCHEMA.test(token.text)
  return token?.kind === 'identifier' && TEMP_SCHEMA.test(token.text)
}

/** `SELECT … INTO [TEMP|TEMPORARY] [TABLE] name` with a temporary or `pg_temp` name (not `INSERT INTO temp`, a table called temp). */
function selectIntoTemp(tokens: readonly SqlToken[], start: number, mode: Mode): SessionStateKind | undefined {
  // PL/pgSQL's SELECT … INTO assigns variables.
  if (mode === 'plpgsql') return undefined
  for (let i = start; i < tokens.length; i++) {
    if (!isWord(tokens[i], 'into')) continue
    if (isWord(tokens[i - 1], 'insert') || isWord(tokens[i - 1], 'merge')) continue
    let j = i + 1
    if (isWord(tokens[j], 'global') || isWord(tokens[j], 'local')) j++
    if (isWord(tokens[j], 'temp') || isWord(tokens[j], 'temporary')) {
      // `INTO temp` followed by `(`, VALUES or SELECT is an INSERT-like target, not a new table.
      const next = tokens[j + 1]
      if (next !== undefined && (next.kind === 'word' || next.kind === 'identifier')) return 'temporary object'
    }
    if (isWord(tokens[j], 'unlogged')) j++
    if (isWord(tokens[j], 'table')) j++
    if (isTempSchema(tokens[j]) && isPunct(tokens[j + 1], '.')) return 'temporary object'
  }
  return undefined
}

/** A call anywhere in the statement to a session-lock function or a non-local `set_config` (any schema). */
function functionCallKind(tokens: readonly SqlToken[]): SessionStateKind | undefined {
  for (let i = 0; i + 1 < tokens.length; i++) {
    const token = tokens[i]!
    if ((token.kind !== 'word' && token.kind !== 'identifier') || !isPunct(tokens[i + 1], '(')) continue
    if (SESSION_LOCK_FUNCTIONS.has(token.text)) return 'session advisory lock'
    if (token.text === 'set_config') {
      const args = callArguments(tokens, i + 1)
      if (!isLocalTrue(args[2])) return 'set_config(…, false)'
      // Transaction-local, but pg_temp first in search_path makes the transaction's CREATEs temporary.
      if (!isLiteral(args[0]) || (args[0]![0]!.text === 'search_path' && !isPlainLiteral(args[1])))
        return 'temporary object'
    }
  }
  return undefined
}

/** `UPDATE pg_settings SET setting = …` is a session `SET` (anywhere, a CTE included). */
function updatesSettingsView(tokens: readonly SqlToken[]): SessionStateKind | undefined {
  for (let i = 0; i < tokens.length; i++) {
    if (!isWord(tokens[i], 'update')) continue
    let j = i + 1
    if (isWord(tokens[j], 'only')) j++
    if (isName(tokens[j], 'pg_catalog') && isPunct(tokens[j + 1], '.')) j += 2
    if (isName(tokens[j], 'pg_settings')) return 'SET'
  }
  return undefined
}

/** One literal true: `true`, or a string PostgreSQL reads as true. Anything else (a column, a parameter, an expression) could be false. */
function isLocalTrue(arg: readonly SqlToken[] | undefined): boolean {
  if (arg === undefined || arg.length !== 1) return false
  const only = arg[0]!
  if (only.kind === 'word') return only.text === 'true'
  return only.kind === 'string' && LOCAL_TRUE_STRINGS.has(only.text.trim().toLowerCase())
}

function isLiteral(arg: readonly SqlToken[] | undefined): boolean {
  return arg !== undefined && arg.length === 1 && arg[0]!.kind === 'string'
}

/** A literal value without `pg_temp` in it. */
function isPlainLiteral(arg: readonly SqlToken[] | undefined): boolean {
  return isLiteral(arg) && !mentionsTemp(arg![0]!)
}
