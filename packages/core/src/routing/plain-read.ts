import { mysqlSessionChange, postgresSessionChange } from '../connector/session-change-detector.js'
import { tokenizeSql, type SqlToken } from '../pooler/sql-tokens.js'

/**
 * True only when `sql` is provably a plain read that any replica may answer:
 * one statement, starting with SELECT / WITH / VALUES / TABLE, with no
 * locking clause (FOR UPDATE/SHARE, LOCK IN SHARE MODE), no `INTO`, no
 * data-modifying CTE, no known volatile or session-bound function (nextval,
 * setval, advisory locks, last_insert_id, …) and no session change.
 * Anything else — unknown, odd or unparseable — is false: it goes to the
 * primary. A user function that writes is not visible here; a replica
 * refuses it (SQLSTATE 25006 / error 1290) and the router sends it to the
 * primary once.
 */
export function isPlainRead(sql: string, dialect: 'postgres' | 'mysql'): boolean {
  const cache = caches[dialect]
  let cached = cache.get(sql)
  if (cached === undefined) {
    cached = classify(sql, dialect)
    if (cache.size >= CACHE_SIZE) cache.clear()
    cache.set(sql, cached)
  }
  return cached
}

// Kysely apps send the same few hundred texts over and over: remember them.
const CACHE_SIZE = 2_000
const caches = { postgres: new Map<string, boolean>(), mysql: new Map<string, boolean>() }

const READ_STARTS = new Set(['select', 'with', 'values', 'table'])

/** Words that make a statement write, lock, or depend on its session. */
const REFUSED_WORDS = new Set([
  // writes and data-modifying CTEs
  'insert',
  'update',
  'delete',
  'merge',
  'truncate',
  'copy',
  'call',
  'do',
  // SELECT … INTO a table (PostgreSQL) or a variable/file (MySQL)
  'into',
  // FOR UPDATE / FOR SHARE / FOR NO KEY UPDATE; MySQL's LOCK IN SHARE MODE
  'for',
  'lock',
  // sequences and session-bound values
  'nextval',
  'setval',
  'currval',
  'lastval',
  'last_insert_id',
  'found_rows',
  'row_count',
  'sql_calc_found_rows',
  'set_config',
  'txid_current',
  'pg_current_xact_id',
  'pg_notify',
  'dblink',
  'dblink_exec',
  // MySQL named locks
  'get_lock',
  'release_lock',
  'release_all_locks',
  'is_used_lock',
  'is_free_lock',
])

/** Function families that lock, write or act on the server. */
const REFUSED_PREFIXES = [
  'pg_advisory',
  'pg_try_advisory',
  'pg_create',
  'pg_drop',
  'pg_switch',
  'pg_terminate',
  'pg_cancel',
  'pg_reload',
  'pg_rotate',
  'pg_promote',
  'pg_wal_replay',
  'pg_log',
  'lo_',
]

function classify(sql: string, dialect: 'postgres' | 'mysql'): boolean {
  // Read with the server's own lexical rules; on MySQL both backslash modes
  // (NO_BACKSLASH_ESCAPES changes what a string hides) must agree.
  if (!provedRead(sql, dialect, dialect === 'mysql')) return false
  if (dialect === 'mysql' && sql.includes('\\') && !provedRead(sql, dialect, false)) return false
  return dialect === 'mysql' ? !mysqlSessionChange(sql).changed : !postgresSessionChange(sql)
}

function provedRead(sql: string, dialect: 'postgres' | 'mysql', backslashEscapes: boolean): boolean {
  const { statements, unterminated } = tokenizeSql(sql, dialect, { backslashEscapes })
  if (unterminated || statements.length !== 1) return false
  const tokens = statements[0]!
  const first = tokens[0]
  if (first?.kind !== 'word' || !READ_STARTS.has(first.text)) return false
  for (const token of tokens) {
    if (refused(token, dialect)) return false
  }
  return true
}

function refused(token: SqlToken, dialect: 'postgres' | 'mysql'): boolean {
  // On MySQL "…" is a string unless ANSI_QUOTES makes it a name: read it as both.
  if (token.kind === 'word' || token.kind === 'identifier' || (dialect === 'mysql' && token.kind === 'string')) {
    const word = token.text.toLowerCase()
    return REFUSED_WORDS.has(word) || REFUSED_PREFIXES.some((prefix) => word.startsWith(prefix))
  }
  // MySQL user variables (`@x := …`) live in the session; `@@port` only reads
  // a server variable.
  return token.kind === 'variable' && !token.text.startsWith('@@')
}
