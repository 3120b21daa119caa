/**
 * Recognises SQL that may leave state in the session after the statement (and
 * its transaction) ended, so that a clean release costs no round trip: the
 * connectors test each statement's text once against one precompiled regex
 * and set a per-connection flag; only flagged connections are reset.
 *
 * False positives cost one reset; false negatives leak state to the next
 * borrower. So the patterns are broad wherever the state is real (`SET` at a
 * statement start, any `CREATE TEMP`, any session lock function) and narrow
 * only where a broad pattern would flag everyday SQL (`UPDATE … SET`, a
 * column called `temp`).
 */

/** Statement starts: the text start or after `;`, then whitespace and comments. */
const START = String.raw`(?:^|;)(?:\s|--[^\n]*(?:\n|$)|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/)*`

/**
 * PostgreSQL. Flags:
 * - `SET …` and `SET SESSION …` at a statement start, including `SET ROLE` and
 *   `SET SESSION AUTHORIZATION`; not `SET LOCAL`, `SET TRANSACTION`,
 *   `SET CONSTRAINTS` (they end with the transaction);
 * - `RESET`, `PREPARE`, `LISTEN`, `LOAD`, `DO` (an anonymous block can do any
 *   of this through dynamic SQL) at a statement start;
 * - `set_config(` anywhere (`is_local` is not parsed: a false positive at worst);
 * - temporary objects: `CREATE [OR REPLACE] [GLOBAL|LOCAL] TEMP|TEMPORARY …`,
 *   `SELECT … INTO TEMP …`, anything qualified with `pg_temp.`;
 * - session advisory locks: `pg_advisory_lock`, `pg_try_advisory_lock` and
 *   their `_shared` forms (not the `_xact_` ones, released at transaction end);
 * - cursors that outlive the transaction: `WITH HOLD`.
 */
export const POSTGRES_SESSION_CHANGE: SessionSniffer = sessionSniffer(
  String.raw`SET\b(?!\s+(?:LOCAL|TRANSACTION|CONSTRAINTS)\b)|RESET\b|PREPARE\b|LISTEN\b|LOAD\b|DO\b`,
  [
    String.raw`\bset_config\s*\(`,
    String.raw`\b(?:CREATE(?:\s+OR\s+REPLACE)?|INTO)\s+(?:(?:GLOBAL|LOCAL)\s+)?TEMP(?:ORARY)?\b`,
    String.raw`\bpg_temp\.`,
    String.raw`\bpg_(?:try_)?advisory_lock(?:_shared)?\s*\(`,
    String.raw`\bWITH\s+HOLD\b`,
  ],
)

/**
 * MySQL / MariaDB. The server's SESSION_STATE_CHANGED flag catches most
 * changes (see the MySQL connector); this pattern catches what the flag
 * misses or reports late, and stands in when the flag is unavailable:
 * - `SET …` at a statement start (session variables, user variables, `SET ROLE`,
 *   `SET NAMES`, `SET SESSION TRANSACTION …`; not `SET TRANSACTION …`, which
 *   applies to the next transaction only, nor `SET STATEMENT … FOR`);
 * - `PREPARE`, `USE`, `LOCK TABLES`, `HANDLER` at a statement start;
 * - user-variable assignment anywhere: `@name :=`, `INTO @name`;
 * - temporary tables: `CREATE TEMPORARY`;
 * - named locks: `GET_LOCK(`.
 */
export const MYSQL_SESSION_CHANGE: SessionSniffer = sessionSniffer(
  String.raw`SET\b(?!\s+(?:TRANSACTION|STATEMENT)\b)|PREPARE\b|USE\b|LOCK\s+TABLES?\b|HANDLER\b`,
  [
    String.raw`@[\w$.]+\s*:=`,
    String.raw`\bINTO\s+@`,
    String.raw`\bCREATE\s+(?:OR\s+REPLACE\s+)?TEMPORARY\b`,
    String.raw`\bGET_LOCK\s*\(`,
  ],
)

/**
 * The MySQL session changes COM_RESET_CONNECTION does not undo (measured on
 * MariaDB 10.11): the current database and the active role. Group 1 names
 * which. Tested only on sessions already flagged as changed.
 */
export const MYSQL_RESET_GAPS = new RegExp(String.raw`${START}(USE|SET\s+ROLE)\b`, 'i')

/** Tests statement text; a `RegExp`'s `test`, on the connectors' per-statement path. */
export interface SessionSniffer {
  readonly source: string
  test(text: string): boolean
}

/**
 * `starts` at any statement start, or any of `anywhere`, as one regex.
 * Run as one it is slow: `(?:^|;)` leaves the engine no first character to
 * scan for. So a text without `;` (one statement: nearly all) tests a start
 * anchored at 0 and the `anywhere` patterns alone — the same answer.
 */
function sessionSniffer(starts: string, anywhere: readonly string[]): SessionSniffer {
  const full = new RegExp([`${START}(?:${starts})`, ...anywhere].join('|'), 'i')
  const head = new RegExp(`^${START.slice('(?:^|;)'.length)}(?:${starts})`, 'i')
  const rest = new RegExp(anywhere.join('|'), 'i')
  return {
    source: full.source,
    test: (text) => (text.includes(';') ? full.test(text) : head.test(text) || rest.test(text)),
  }
}
