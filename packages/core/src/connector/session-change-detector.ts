import { classifyMysql, type MysqlSessionChange } from '../pooler/mysql-session-classifier.js'
import { classifyPostgres } from '../pooler/session-state-classifier.js'

/**
 * Recognises SQL that may leave state in the session after the statement (and
 * its transaction) ended, so that a clean release costs no round trip: the
 * connectors sniff each statement's text while the session is clean and set a
 * per-connection flag; only flagged connections are reset.
 *
 * False positives cost one reset; false negatives leak state to the next
 * borrower. So the decision is the classifier's, on decoded tokens (comments,
 * quoting, escapes, executable comments read as the server reads them), and
 * what it cannot see into (DO blocks, CALL, an unterminated text) counts as
 * a change. A prefilter keeps the everyday statement off the tokenizer: text
 * that contains none of the substrings below cannot hold any construct the
 * classifier flags, however it is spelled — a keyword's letters survive
 * comments and quoting; only `U&` escapes (PostgreSQL), backslashes,
 * comments and `;` change what the letters mean, and each sends the text on.
 */

/**
 * PostgreSQL: statements that start with a session-changing keyword (or
 * EXPLAIN, DECLARE: what they carry is read in full), and anywhere the
 * letters every other flagged construct contains (`set_config`, `temp` —
 * also in TEMPORARY —, `pg_` for `pg_temp`, `pg_advisory_…`, `pg_settings`)
 * or what changes how text reads (`;`, comments, `\`, `U&`). Two plain
 * regexes: a single one with the anchored part costs twice as much.
 */
const POSTGRES_SUSPECT_START =
  /^\s*(?:set|reset|load|listen|unlisten|prepare|execute|deallocate|discard|declare|do|call|explain)\b/i
const POSTGRES_SUSPECT_ANYWHERE = /[;\\]|\/\*|--|set_config|temp|pg_|u&/i

/**
 * MySQL / MariaDB: session-changing keywords at the start, and anywhere user
 * variables (`@`), temporary tables, named locks, `LAST_INSERT_ID(expr)`, or
 * what changes how text reads (`;`, comments incl. `#` and executable ones, `\`).
 */
const MYSQL_SUSPECT_START =
  /^\s*(?:set|prepare|execute|deallocate|drop|use|lock|unlock|handler|call|xa|backup|flush|begin\s+not)\b/i
const MYSQL_SUSPECT_ANYWHERE = /[;\\#@]|\/\*|--|temporary|get_lock|release_|last_insert_id/i

const MYSQL_CLEAN: MysqlSessionChange = Object.freeze({ changed: false, database: false, role: false })

/** Whether a PostgreSQL statement text may leave session state (`reset: 'auto'`). */
export function postgresSessionChange(text: string): boolean {
  return (
    (POSTGRES_SUSPECT_ANYWHERE.test(text) || POSTGRES_SUSPECT_START.test(text)) &&
    classifyPostgres(text, 'sniff') !== undefined
  )
}

/** What a MySQL/MariaDB statement text may leave in the session (`reset: 'auto'`). */
export function mysqlSessionChange(text: string): MysqlSessionChange {
  return MYSQL_SUSPECT_START.test(text) || MYSQL_SUSPECT_ANYWHERE.test(text) ? classifyMysql(text) : MYSQL_CLEAN
}

/** Tests statement text: the per-statement sniff as a predicate. */
export interface SessionSniffer {
  test(text: string): boolean
}

export const POSTGRES_SESSION_CHANGE: SessionSniffer = Object.freeze({ test: postgresSessionChange })

export const MYSQL_SESSION_CHANGE: SessionSniffer = Object.freeze({
  test: (text: string) => mysqlSessionChange(text).changed,
})
