import { tokenizeStatements, type SqlToken } from './sql-tokens.js'

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
    'CREATE TEMP TABLE … ON COMMIT DROP inside a transaction (temporary views and sequences cannot be dropped on commit: use a regular object or a CTE)',
  LOAD: 'preload the library on the server (shared_preload_libraries / session_preload_libraries)',
  DISCARD:
    'send nothing: the pooler resets server connections itself (server_reset_query), and a client’s DISCARD hits whichever server connection the pooler picked',
  'named prepared statement':
    "drop `name` so pg uses the unnamed statement, or run PgBouncer >= 1.21 with max_prepared_statements > 0 (it tracks protocol-level prepared statements; Debian 12's 1.18 does not) and set pooler: { mode: 'transaction', preparedStatements: true }",
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

/** `set_config`'s third argument spellings that mean `is_local = true`. */
const LOCAL_TRUE = new Set(['true', 't', 'on', 'yes', 'y', '1'])

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

type Mode = 'sql' | 'plpgsql'

/**
 * Finds the first statement in `sql` that would leave session-level state
 * behind after its transaction, or `undefined`. Pure; reads literals,
 * comments, dollar quoting and case as PostgreSQL does, so a keyword inside
 * a string or comment never counts.
 *
 * Transaction-scoped forms pass anywhere (`SET LOCAL`, `SET TRANSACTION`,
 * `set_config(…, true)`, `pg_advisory_xact_lock`, `DECLARE` without `HOLD`,
 * `CREATE TEMP TABLE … ON COMMIT DROP`, `PREPARE TRANSACTION`): outside a
 * transaction they end with the statement, so they leave nothing either.
 *
 * Not visible from the text, hence not refused: functions or procedures that
 * change settings internally, and dynamic SQL built at run time (a DO
 * block's `EXECUTE` of a literal string is read; of an expression, not).
 */
export function findSessionState(sql: string): SessionStateFinding | undefined {
  return classify(sql, 'sql', false)
}

function classify(sql: string, mode: Mode, inDoBlock: boolean): SessionStateFinding | undefined {
  for (const tokens of tokenizeStatements(sql)) {
    const found = classifyStatement(tokens, mode, inDoBlock)
    if (found !== undefined) return found
  }
  return undefined
}

function classifyStatement(
  tokens: readonly SqlToken[],
  mode: Mode,
  inDoBlock: boolean,
): SessionStateFinding | undefined {
  const finding = (kind: SessionStateKind): SessionStateFinding => ({ kind, excerpt: excerptOf(tokens), inDoBlock })

  for (const start of statementStarts(tokens, mode)) {
    const kind = startKind(tokens, start, mode)
    if (kind !== undefined) return finding(kind)
    if (isWord(tokens[start], 'do')) {
      // The body is itself SQL/PL/pgSQL run now: classify it.
      const body = tokens.slice(start + 1).find((token) => token.type === 'string')
      if (body !== undefined) {
        const inner = classify(body.value, 'plpgsql', true)
        if (inner !== undefined) return inner
      }
    }
    if (mode === 'plpgsql' && isWord(tokens[start], 'execute') && tokens[start + 1]?.type === 'string') {
      const inner = classify(tokens[start + 1]!.value, 'sql', true)
      if (inner !== undefined) return inner
    }
  }
  const call = functionCallKind(tokens)
  return call === undefined ? undefined : finding(call)
}

/** Token indexes where a statement starts: 0, and in PL/pgSQL after BEGIN/THEN/ELSE/LOOP. */
function statementStarts(tokens: readonly SqlToken[], mode: Mode): number[] {
  const starts = [0]
  if (mode === 'plpgsql') {
    tokens.forEach((token, i) => {
      if (token.type === 'word' && PLPGSQL_BLOCK_WORDS.has(token.value) && i + 1 < tokens.length) starts.push(i + 1)
    })
  }
  return starts
}

/** The kind refused for the statement starting at `start`, by its leading keywords. */
function startKind(tokens: readonly SqlToken[], start: number, mode: Mode): SessionStateKind | undefined {
  const first = tokens[start]
  if (first?.type !== 'word') return undefined
  const second = tokens[start + 1]
  switch (first.value) {
    case 'set':
      // LOCAL, TRANSACTION and CONSTRAINTS end with the transaction; SESSION
      // (incl. SESSION AUTHORIZATION / CHARACTERISTICS) and plain SET do not.
      return isWord(second, 'local') || isWord(second, 'transaction') || isWord(second, 'constraints')
        ? undefined
        : 'SET'
    case 'prepare':
      // PREPARE TRANSACTION is two-phase commit, not a prepared statement.
      return isWord(second, 'transaction') ? undefined : 'PREPARE'
    case 'declare':
      // In PL/pgSQL, DECLARE opens a block's variable section.
      if (mode === 'plpgsql') return undefined
      return hasWords(tokens, start, ['with', 'hold']) ? 'DECLARE … WITH HOLD' : undefined
    case 'execute':
      // PL/pgSQL's EXECUTE is dynamic SQL (its literal is read by the caller).
      return mode === 'plpgsql' ? undefined : 'EXECUTE'
    case 'create':
      return createsTemporaryObject(tokens, start) ? 'temporary object' : selectIntoTemp(tokens, start, mode)
    default:
      return REFUSED_STARTS.get(first.value) ?? selectIntoTemp(tokens, start, mode)
  }
}

/**
 * `CREATE [OR REPLACE] [GLOBAL|LOCAL] TEMP|TEMPORARY …` or a `pg_temp.`
 * qualified name: refused unless it is a table dropped on commit.
 */
function createsTemporaryObject(tokens: readonly SqlToken[], start: number): boolean {
  let i = start + 1
  if (isWord(tokens[i], 'or') && isWord(tokens[i + 1], 'replace')) i += 2
  if (isWord(tokens[i], 'global') || isWord(tokens[i], 'local')) i++
  const explicit = isWord(tokens[i], 'temp') || isWord(tokens[i], 'temporary')
  if (explicit) i++
  const qualified = tokens.some(
    (token, j) =>
      j > start && isName(token, 'pg_temp') && tokens[j + 1]?.type === 'other' && tokens[j + 1]!.value === '.',
  )
  if (!explicit && !qualified) return false
  const isTable = explicit ? isWord(tokens[i], 'table') : hasWords(tokens, start, ['table'])
  return !(isTable && hasWords(tokens, start, ['on', 'commit', 'drop']))
}

/** `SELECT … INTO [GLOBAL|LOCAL] TEMP|TEMPORARY …` (not `INSERT INTO temp`, a table called temp). */
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
      if (next !== undefined && (next.type === 'word' || next.type === 'quoted')) return 'temporary object'
    }
  }
  return undefined
}

/** A call anywhere in the statement to a session-lock function or a non-local `set_config`. */
function functionCallKind(tokens: readonly SqlToken[]): SessionStateKind | undefined {
  for (let i = 0; i + 1 < tokens.length; i++) {
    const token = tokens[i]!
    if ((token.type !== 'word' && token.type !== 'quoted') || !isPunct(tokens[i + 1], '(')) continue
    if (SESSION_LOCK_FUNCTIONS.has(token.value)) return 'session advisory lock'
    if (token.value === 'set_config' && !isLocalSetConfig(tokens, i + 1)) return 'set_config(…, false)'
  }
  return undefined
}

/** Whether the `set_config(` opened at `open` has a literal true as its third argument. */
function isLocalSetConfig(tokens: readonly SqlToken[], open: number): boolean {
  const args: SqlToken[][] = [[]]
  let depth = 0
  for (let i = open + 1; i < tokens.length; i++) {
    const token = tokens[i]!
    if (isPunct(token, '(') || isPunct(token, '[')) depth++
    if (isPunct(token, ')') || isPunct(token, ']')) {
      if (depth === 0) break
      depth--
    }
    if (depth === 0 && isPunct(token, ',')) args.push([])
    else args[args.length - 1]!.push(token)
  }
  const third = args[2]
  // Anything but one literal true (a parameter, an expression) could be false: refused.
  if (third === undefined || third.length !== 1) return false
  const only = third[0]!
  return (only.type === 'word' || only.type === 'string') && LOCAL_TRUE.has(only.value.toLowerCase())
}

/** The statement's words with literals elided, at most 80 characters. */
function excerptOf(tokens: readonly SqlToken[]): string {
  let text = ''
  for (const token of tokens) {
    const part = token.type === 'string' ? "'…'" : token.type === 'quoted' ? `"${token.value}"` : token.value
    const glue =
      text === '' ||
      part === '(' ||
      part === ')' ||
      part === ',' ||
      part === '.' ||
      text.endsWith('(') ||
      text.endsWith('.')
        ? ''
        : ' '
    text += glue + part
    if (text.length > 80) return `${text.slice(0, 79)}…`
  }
  return text
}

function isWord(token: SqlToken | undefined, word: string): boolean {
  return token?.type === 'word' && token.value === word
}

/** An identifier, quoted or not (a quoted one must match exactly). */
function isName(token: SqlToken | undefined, name: string): boolean {
  return (token?.type === 'word' || token?.type === 'quoted') && token.value === name
}

function isPunct(token: SqlToken | undefined, punct: string): boolean {
  return token?.type === 'other' && token.value === punct
}

/** Whether `words` appear consecutively after `start`. */
function hasWords(tokens: readonly SqlToken[], start: number, words: readonly string[]): boolean {
  for (let i = start; i + words.length <= tokens.length; i++) {
    if (words.every((word, k) => isWord(tokens[i + k], word))) return true
  }
  return false
}
