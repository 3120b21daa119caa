/** Which server's lexical rules to read SQL text with. */
export type SqlDialect = 'postgres' | 'mysql'

/**
 * What a token is. `word` is an unquoted identifier or keyword, `identifier`
 * a quoted one (`"…"`, `U&"…"`, `` `…` ``), `variable` a MySQL `@name` or
 * `@@name`, `parameter` a `$1` or `?` placeholder.
 */
export type SqlTokenKind =
  'word' | 'identifier' | 'string' | 'number' | 'parameter' | 'variable' | 'operator' | 'punctuation'

/**
 * One token as the server reads it. Comments and whitespace are dropped
 * (MySQL's executable comments `/*! … *\/` are read as SQL: the server runs
 * them). `text` is decoded: words lowercased (both servers match keywords
 * and, on PostgreSQL, unquoted names case-insensitively), quoted identifiers
 * and strings unescaped, a variable as `@name` / `@@name` with its name
 * unquoted.
 */
export interface SqlToken {
  readonly kind: SqlTokenKind
  readonly text: string
}

/** SQL text split into statements (at `;` outside literals and comments), each into tokens. */
export interface TokenizedSql {
  readonly statements: readonly (readonly SqlToken[])[]
  /**
   * A literal, quoted identifier or comment ran to the end of the text: the
   * server would reject the text, but a reader cannot be sure what it runs.
   */
  readonly unterminated: boolean
}

export interface TokenizeOptions {
  /**
   * Backslash escapes in plain `'…'` strings: MySQL's default (off under
   * `NO_BACKSLASH_ESCAPES`), PostgreSQL with `standard_conforming_strings =
   * off`. Default: true on MySQL, false on PostgreSQL.
   */
  readonly backslashEscapes?: boolean
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/
const DIGIT = /[0-9]/
const NUMBER_PART = /[0-9A-Za-z_.]/
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y
const POSTGRES_OPERATOR = /[+\-*/<>=~!@#%^&|`?]/
const MYSQL_OPERATOR = /[+\-*/<>=~!%^&|:]/
const MYSQL_VARIABLE_PART = /[A-Za-z0-9_$.\u0080-\uffff]/
const SPACE = /\s/

/**
 * Reads SQL as PostgreSQL or MySQL/MariaDB would. Never throws: an
 * unterminated literal or comment runs to the end of the text (and sets
 * `unterminated`). Shared by the session sniff, the transaction-pooler guard
 * and anything else that must not be fooled by quoting or comments.
 */
export function tokenizeSql(sql: string, dialect: SqlDialect, options: TokenizeOptions = {}): TokenizedSql {
  return new Tokenizer(sql, dialect, options.backslashEscapes ?? dialect === 'mysql').run()
}

class Tokenizer {
  readonly #sql: string
  readonly #mysql: boolean
  readonly #backslashEscapes: boolean
  readonly #statements: SqlToken[][] = []
  #current: SqlToken[] = []
  #i = 0
  #unterminated = false
  /** Inside a MySQL `/*! … *\/`: its `*\/` closes it. */
  #inExecutableComment = false

  constructor(sql: string, dialect: SqlDialect, backslashEscapes: boolean) {
    this.#sql = sql
    this.#mysql = dialect === 'mysql'
    this.#backslashEscapes = backslashEscapes
  }

  run(): TokenizedSql {
    const sql = this.#sql
    const n = sql.length
    while (this.#i < n) {
      const i = this.#i
      const c = sql[i]!
      if (SPACE.test(c)) {
        this.#i++
      } else if (c === '-' && sql[i + 1] === '-' && (!this.#mysql || i + 2 >= n || sql.charCodeAt(i + 2) <= 0x20)) {
        // MySQL needs a space or control character after `--` (`1--1` is 1 - -1).
        this.#skipLine()
      } else if (c === '#' && this.#mysql) {
        this.#skipLine()
      } else if (c === '/' && sql[i + 1] === '*') {
        this.#comment()
      } else if (c === '*' && sql[i + 1] === '/' && this.#inExecutableComment) {
        this.#inExecutableComment = false
        this.#i += 2
      } else if (c === ';') {
        if (this.#current.length > 0) this.#statements.push(this.#current)
        this.#current = []
        this.#i++
      } else if (c === "'") {
        this.#push('string', this.#quoted("'", this.#backslashEscapes))
      } else if (c === '"') {
        // MySQL reads "…" as a string (as an identifier under ANSI_QUOTES: the classifier accepts both).
        this.#push(this.#mysql ? 'string' : 'identifier', this.#quoted('"', this.#mysql && this.#backslashEscapes))
      } else if (c === '`' && this.#mysql) {
        this.#push('identifier', this.#quoted('`', false))
      } else if (c === '@' && this.#mysql) {
        this.#variable()
      } else if (c === '$' && !this.#mysql) {
        this.#dollar()
      } else if (c === '?' && this.#mysql) {
        this.#push('parameter', '?')
        this.#i++
      } else if (DIGIT.test(c) || (c === '.' && DIGIT.test(sql[i + 1] ?? ''))) {
        let j = i + 1
        while (j < n && NUMBER_PART.test(sql[j]!)) j++
        this.#push('number', sql.slice(i, j))
        this.#i = j
      } else if (IDENT_START.test(c)) {
        this.#word()
      } else if ((this.#mysql ? MYSQL_OPERATOR : POSTGRES_OPERATOR).test(c)) {
        this.#operator()
      } else {
        this.#push('punctuation', c)
        this.#i++
      }
    }
    if (this.#current.length > 0) this.#statements.push(this.#current)
    return { statements: this.#statements, unterminated: this.#unterminated }
  }

  #push(kind: SqlTokenKind, text: string): void {
    this.#current.push({ kind, text })
  }

  #skipLine(): void {
    const end = this.#sql.indexOf('\n', this.#i)
    this.#i = end === -1 ? this.#sql.length : end + 1
  }

  /** A block comment: nested on PostgreSQL; on MySQL `/*!`, `/*!50700`, `/*M!` open code the server runs. */
  #comment(): void {
    const sql = this.#sql
    if (this.#mysql) {
      const m = /\/\*M?!\d*/y
      m.lastIndex = this.#i
      const executable = m.exec(sql)
      if (executable !== null) {
        this.#inExecutableComment = true
        this.#i += executable[0].length
        return
      }
      const end = sql.indexOf('*/', this.#i + 2)
      if (end === -1) this.#unterminated = true
      this.#i = end === -1 ? sql.length : end + 2
      return
    }
    let depth = 0
    let i = this.#i
    while (i < sql.length) {
      if (sql.startsWith('/*', i)) {
        depth++
        i += 2
      } else if (sql.startsWith('*/', i)) {
        depth--
        i += 2
        if (depth === 0) {
          this.#i = i
          return
        }
      } else {
        i++
      }
    }
    this.#unterminated = true
    this.#i = sql.length
  }

  /**
   * A literal opened by `quote` at the cursor: a doubled quote is one quote;
   * with `backslashEscapes` a backslash escape is decoded (`\n`, `\t`, …; any
   * other character stands for itself, as both servers read it).
   */
  #quoted(quote: string, backslashEscapes: boolean): string {
    const sql = this.#sql
    let value = ''
    let i = this.#i + 1
    while (i < sql.length) {
      const c = sql[i]!
      if (backslashEscapes && c === '\\' && i + 1 < sql.length) {
        const [decoded, length] = this.#mysql ? mysqlEscape(sql, i) : postgresEscape(sql, i)
        value += decoded
        i += length
      } else if (c === quote) {
        if (sql[i + 1] === quote) {
          value += quote
          i += 2
        } else {
          this.#i = i + 1
          return value
        }
      } else {
        value += c
        i++
      }
    }
    this.#unterminated = true
    this.#i = sql.length
    return value
  }

  /** `$1` (a parameter) or a dollar-quoted string `$tag$…$tag$`. */
  #dollar(): void {
    const sql = this.#sql
    DOLLAR_TAG.lastIndex = this.#i
    const tag = DOLLAR_TAG.exec(sql)
    if (tag !== null) {
      const bodyStart = this.#i + tag[0].length
      const close = sql.indexOf(tag[0], bodyStart)
      if (close === -1) this.#unterminated = true
      this.#push('string', sql.slice(bodyStart, close === -1 ? sql.length : close))
      this.#i = close === -1 ? sql.length : close + tag[0].length
      return
    }
    let j = this.#i + 1
    while (j < sql.length && DIGIT.test(sql[j]!)) j++
    this.#push(j > this.#i + 1 ? 'parameter' : 'operator', sql.slice(this.#i, Math.max(j, this.#i + 1)))
    this.#i = Math.max(j, this.#i + 1)
  }

  /** A word, or a prefixed literal: `E'…'`, `B'…'`, `X'…'`, `N'…'`, `U&'…'`, `U&"…"` (PostgreSQL); `_utf8mb4'…'`, `N'…'` (MySQL). */
  #word(): void {
    const sql = this.#sql
    const start = this.#i
    let j = start + 1
    while (j < sql.length && IDENT_PART.test(sql[j]!)) j++
    const word = sql.slice(start, j).toLowerCase()
    const next = sql[j]
    if (next === "'") {
      if (this.#mysql && (word === 'n' || word === 'x' || word === 'b' || word.startsWith('_'))) {
        this.#i = j
        this.#push('string', this.#quoted("'", this.#backslashEscapes && word !== 'x' && word !== 'b'))
        return
      }
      if (!this.#mysql && (word === 'e' || word === 'b' || word === 'x' || word === 'n')) {
        this.#i = j
        this.#push('string', this.#quoted("'", word === 'e' || (word === 'n' && this.#backslashEscapes)))
        return
      }
    }
    if (!this.#mysql && word === 'u' && next === '&' && (sql[j + 1] === "'" || sql[j + 1] === '"')) {
      const quote = sql[j + 1]!
      this.#i = j + 1
      const raw = this.#quoted(quote, false)
      this.#push(quote === "'" ? 'string' : 'identifier', decodeUnicodeEscapes(raw, this.#uescape()))
      return
    }
    this.#push('word', word)
    this.#i = j
  }

  /** An optional `UESCAPE 'c'` after a `U&` literal (comments and space may come between): its escape character. */
  #uescape(): string {
    const sql = this.#sql
    const clause = /(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*uescape(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*'([^'])'/iy
    clause.lastIndex = this.#i
    const match = clause.exec(sql)
    if (match === null) return '\\'
    this.#i += match[0].length
    return match[1]!
  }

  /** `@name`, `` @`name` ``, `@'name'`, `@"name"`, `@@name`, `@@session.name`. */
  #variable(): void {
    const sql = this.#sql
    let prefix = '@'
    this.#i++
    if (sql[this.#i] === '@') {
      prefix = '@@'
      this.#i++
    }
    const c = sql[this.#i]
    if (c === '`' || c === "'" || c === '"') {
      this.#push('variable', prefix + this.#quoted(c, c !== '`' && this.#backslashEscapes).toLowerCase())
      return
    }
    let j = this.#i
    while (j < sql.length && MYSQL_VARIABLE_PART.test(sql[j]!)) j++
    this.#push('variable', prefix + sql.slice(this.#i, j).toLowerCase())
    this.#i = j
  }

  /** An operator runs until a character that cannot continue it, a comment start or an executable comment's end. */
  #operator(): void {
    const sql = this.#sql
    const chars = this.#mysql ? MYSQL_OPERATOR : POSTGRES_OPERATOR
    let j = this.#i + 1
    while (j < sql.length && chars.test(sql[j]!) && !this.#operatorEndsAt(j)) j++
    this.#push('operator', sql.slice(this.#i, j))
    this.#i = j
  }

  #operatorEndsAt(j: number): boolean {
    const sql = this.#sql
    if (sql.startsWith('/*', j)) return true
    if (!this.#mysql) return sql.startsWith('--', j)
    return this.#inExecutableComment && sql.startsWith('*/', j)
  }
}

/** A PostgreSQL `E'…'` escape at `i` (a backslash): the decoded text and the length consumed. */
function postgresEscape(sql: string, i: number): [string, number] {
  const c = sql[i + 1]!
  const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }
  if (simple[c] !== undefined) return [simple[c], 2]
  const octal = /[0-7]{1,3}/y
  octal.lastIndex = i + 1
  const o = octal.exec(sql)
  if (o !== null) return [String.fromCodePoint(parseInt(o[0], 8)), 1 + o[0].length]
  const hex = /x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})/y
  hex.lastIndex = i + 1
  const h = hex.exec(sql)
  if (h !== null) {
    const code = parseInt(h[1] ?? h[2] ?? h[3]!, 16)
    return [code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd', 1 + h[0].length]
  }
  return [c, 2]
}

/** A MySQL string escape at `i` (a backslash). */
function mysqlEscape(sql: string, i: number): [string, number] {
  const c = sql[i + 1]!
  const simple: Record<string, string> = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a' }
  // `\%` and `\_` keep their backslash (LIKE patterns).
  if (c === '%' || c === '_') return [`\\${c}`, 2]
  return [simple[c] ?? c, 2]
}

/** Decodes `U&` escapes: `\XXXX`, `\+XXXXXX`, and a doubled escape character for itself. */
function decodeUnicodeEscapes(raw: string, escape: string): string {
  let out = ''
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!
    if (c !== escape) {
      out += c
    } else if (raw[i + 1] === escape) {
      out += escape
      i++
    } else if (raw[i + 1] === '+' && /^[0-9A-Fa-f]{6}$/.test(raw.slice(i + 2, i + 8))) {
      const code = parseInt(raw.slice(i + 2, i + 8), 16)
      out += code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd'
      i += 7
    } else if (/^[0-9A-Fa-f]{4}$/.test(raw.slice(i + 1, i + 5))) {
      out += String.fromCodePoint(parseInt(raw.slice(i + 1, i + 5), 16))
      i += 4
    } else {
      out += c // invalid: the server rejects it, so what it names does not matter
    }
  }
  return out
}
