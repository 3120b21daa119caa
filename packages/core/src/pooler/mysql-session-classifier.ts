import { tokenizeSql, type SqlToken } from './sql-tokens.js'
import { callArguments, isPunct, isWord } from './sql-token-match.js'

/** What a MySQL/MariaDB text may leave in the session, as far as the reset has to know. */
export interface MysqlSessionChange {
  /** Something may outlive the statement (and its transaction). */
  readonly changed: boolean
  /** A `USE` may have run: COM_RESET_CONNECTION keeps the current database. */
  readonly database: boolean
  /** A `SET ROLE` may have run: COM_RESET_CONNECTION keeps it. */
  readonly role: boolean
}

const CLEAN: MysqlSessionChange = Object.freeze({ changed: false, database: false, role: false })
const CHANGED: MysqlSessionChange = Object.freeze({ changed: true, database: false, role: false })
const UNKNOWN: MysqlSessionChange = Object.freeze({ changed: true, database: true, role: true })

/**
 * Statement-start keywords whose statement changes the session: prepared
 * statements, the current database, table locks, handlers, stored
 * procedures (which may do anything), XA transactions that outlive a lease,
 * backup and global read locks.
 */
const CHANGING_STARTS = new Set([
  'prepare',
  'execute',
  'deallocate',
  'use',
  'lock',
  'unlock',
  'handler',
  'call',
  'xa',
  // MariaDB's BACKUP LOCK, and FLUSH TABLES … WITH READ LOCK: held by the session.
  'backup',
  'flush',
])

/** Functions that leave state: named locks, and `LAST_INSERT_ID(expr)`, which sets the session's value. */
const CHANGING_FUNCTIONS = new Set(['get_lock', 'release_lock', 'release_all_locks'])

/**
 * Reads MySQL/MariaDB text as the server would (comments, executable
 * comments, quoting, user-variable spellings, both backslash modes) and says
 * whether it may change the session. Fails safe: an unterminated text is
 * assumed to change everything.
 */
export function classifyMysql(sql: string): MysqlSessionChange {
  const found = classifyTokens(sql, true)
  // Under NO_BACKSLASH_ESCAPES a backslash ends nothing: read it both ways.
  if (!sql.includes('\\')) return found
  const other = classifyTokens(sql, false)
  return {
    changed: found.changed || other.changed,
    database: found.database || other.database,
    role: found.role || other.role,
  }
}

function classifyTokens(sql: string, backslashEscapes: boolean): MysqlSessionChange {
  const { statements, unterminated } = tokenizeSql(sql, 'mysql', { backslashEscapes })
  if (unterminated) return UNKNOWN
  let result = CLEAN
  for (const tokens of statements) {
    const found = classifyStatement(tokens, 0)
    if (found === CLEAN) continue
    result = {
      changed: true,
      database: result.database || found.database,
      role: result.role || found.role,
    }
  }
  return result
}

function classifyStatement(tokens: readonly SqlToken[], start: number): MysqlSessionChange {
  const first = tokens[start]
  if (isWord(first, 'set')) {
    const second = tokens[start + 1]
    // MariaDB's SET STATEMENT var = value FOR statement: the variables last for that statement.
    if (isWord(second, 'statement')) {
      const forAt = tokens.findIndex((token, i) => i > start + 1 && isWord(token, 'for'))
      return forAt === -1 ? CHANGED : classifyStatement(tokens, forAt + 1)
    }
    // Every other SET outlives the statement, SET TRANSACTION included: it
    // shapes the next transaction, which may be the next borrower's.
    return isWord(second, 'role') ? { changed: true, database: false, role: true } : CHANGED
  }
  if (isWord(first, 'use')) return { changed: true, database: true, role: false }
  if (first?.kind === 'word' && CHANGING_STARTS.has(first.text)) return CHANGED
  if (isWord(first, 'drop') && isWord(tokens[start + 1], 'prepare')) return CHANGED
  if (isWord(first, 'begin') && isWord(tokens[start + 1], 'not')) return UNKNOWN
  if (isWord(first, 'create') && createsTemporaryTable(tokens, start)) return CHANGED
  return changesAnywhere(tokens, start) ? CHANGED : CLEAN
}

/** `CREATE [OR REPLACE] TEMPORARY …`. */
function createsTemporaryTable(tokens: readonly SqlToken[], start: number): boolean {
  let i = start + 1
  if (isWord(tokens[i], 'or') && isWord(tokens[i + 1], 'replace')) i += 2
  return isWord(tokens[i], 'temporary')
}

/** User-variable assignment (`@v :=`, `INTO @v`), a named lock, or `LAST_INSERT_ID(expr)`. */
function changesAnywhere(tokens: readonly SqlToken[], start: number): boolean {
  for (let i = start; i < tokens.length; i++) {
    const token = tokens[i]!
    const next = tokens[i + 1]
    if (token.kind === 'variable' && next?.kind === 'operator' && next.text.startsWith(':=')) return true
    if (isWord(token, 'into') && next?.kind === 'variable') return true
    if (!isPunct(next, '(')) continue
    // Built-in names match quoted too (`GET_LOCK`), and "…" under ANSI_QUOTES.
    const name =
      token.kind === 'word' || token.kind === 'identifier' || token.kind === 'string' ? token.text.toLowerCase() : ''
    if (CHANGING_FUNCTIONS.has(name)) return true
    if (name === 'last_insert_id' && callArguments(tokens, i + 1)[0]!.length > 0) return true
  }
  return false
}
