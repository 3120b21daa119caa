/**
 * One lexical token of PostgreSQL SQL, as far as the session-state guard
 * needs it. Comments and whitespace are dropped; literals keep their value
 * (a DO block's body is classified in turn) but are never matched as words.
 */
export type SqlToken =
  /** An unquoted identifier or keyword, lowercased (PostgreSQL folds them). */
  | { readonly type: 'word'; readonly value: string }
  /** A `"quoted identifier"`, exact case, `""` unescaped. */
  | { readonly type: 'quoted'; readonly value: string }
  /** A string constant of any form: `'…'`, `E'…'`, `U&'…'`, `B'…'`, `X'…'`, `$tag$…$tag$`. */
  | { readonly type: 'string'; readonly value: string }
  /** A number, a `$1` parameter, an operator or one punctuation character. */
  | { readonly type: 'other'; readonly value: string }

/** Characters that may start an identifier (PostgreSQL also allows any non-ASCII letter). */
const IDENT_START = /[A-Za-z_\u0080-\uffff]/
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y
const OPERATOR_CHARS = /[+\-*/<>=~!@#%^&|`?]/

/**
 * Splits SQL text into statements (at `;` outside literals and comments) and
 * each statement into tokens. Never throws: an unterminated literal or
 * comment runs to the end of the text, as the server would read it before
 * rejecting it.
 */
export function tokenizeStatements(sql: string): SqlToken[][] {
  const statements: SqlToken[][] = []
  let current: SqlToken[] = []
  let i = 0
  const n = sql.length

  while (i < n) {
    const c = sql[i]!
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i)
      i = end === -1 ? n : end + 1
    } else if (c === '/' && sql[i + 1] === '*') {
      i = skipBlockComment(sql, i)
    } else if (c === ';') {
      if (current.length > 0) statements.push(current)
      current = []
      i++
    } else if (c === "'") {
      const [value, end] = readQuoted(sql, i, "'", false)
      current.push({ type: 'string', value })
      i = end
    } else if (c === '"') {
      const [value, end] = readQuoted(sql, i, '"', false)
      current.push({ type: 'quoted', value })
      i = end
    } else if (c === '$') {
      DOLLAR_TAG.lastIndex = i
      const tag = DOLLAR_TAG.exec(sql)
      if (tag !== null) {
        const bodyStart = i + tag[0].length
        const close = sql.indexOf(tag[0], bodyStart)
        const end = close === -1 ? n : close
        current.push({ type: 'string', value: sql.slice(bodyStart, end) })
        i = close === -1 ? n : close + tag[0].length
      } else {
        // `$1` (a parameter) or a stray `$`.
        let j = i + 1
        while (j < n && /[0-9]/.test(sql[j]!)) j++
        current.push({ type: 'other', value: sql.slice(i, Math.max(j, i + 1)) })
        i = Math.max(j, i + 1)
      }
    } else if (IDENT_START.test(c)) {
      let j = i + 1
      while (j < n && IDENT_PART.test(sql[j]!)) j++
      const word = sql.slice(i, j)
      const prefix = word.toLowerCase()
      if (sql[j] === "'" && (prefix === 'e' || prefix === 'b' || prefix === 'x' || prefix === 'n')) {
        // E'…' takes backslash escapes; B'…', X'…', N'…' do not.
        const [value, end] = readQuoted(sql, j, "'", prefix === 'e')
        current.push({ type: 'string', value })
        i = end
      } else if (prefix === 'u' && sql[j] === '&' && (sql[j + 1] === "'" || sql[j + 1] === '"')) {
        const quote = sql[j + 1]!
        const [value, end] = readQuoted(sql, j + 1, quote, false)
        current.push(quote === "'" ? { type: 'string', value } : { type: 'quoted', value })
        i = end
      } else {
        current.push({ type: 'word', value: prefix })
        i = j
      }
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      let j = i + 1
      while (j < n && /[0-9A-Za-z_.]/.test(sql[j]!)) j++
      current.push({ type: 'other', value: sql.slice(i, j) })
      i = j
    } else if (OPERATOR_CHARS.test(c)) {
      // An operator runs until a character that cannot continue it, or a comment start.
      let j = i + 1
      while (j < n && OPERATOR_CHARS.test(sql[j]!) && !(sql.startsWith('--', j) || sql.startsWith('/*', j))) j++
      current.push({ type: 'other', value: sql.slice(i, j) })
      i = j
    } else {
      current.push({ type: 'other', value: c })
      i++
    }
  }
  if (current.length > 0) statements.push(current)
  return statements
}

/** Skips a block comment; PostgreSQL's nest. Returns the index after it. */
function skipBlockComment(sql: string, start: number): number {
  let depth = 0
  let i = start
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth++
      i += 2
    } else if (sql.startsWith('*/', i)) {
      depth--
      i += 2
      if (depth === 0) return i
    } else {
      i++
    }
  }
  return sql.length
}

/**
 * Reads a literal opened by `quote` at `start`: a doubled quote is one quote
 * character; with `backslashEscapes`, a backslash escapes the next character.
 * Returns the unescaped value and the index after the closing quote.
 */
function readQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): [string, number] {
  let value = ''
  let i = start + 1
  while (i < sql.length) {
    const c = sql[i]!
    if (backslashEscapes && c === '\\' && i + 1 < sql.length) {
      value += sql[i + 1]
      i += 2
    } else if (c === quote) {
      if (sql[i + 1] === quote) {
        value += quote
        i += 2
      } else {
        return [value, i + 1]
      }
    } else {
      value += c
      i++
    }
  }
  return [value, sql.length]
}
