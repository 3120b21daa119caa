import { describe, expect, it } from 'vitest'
import { tokenizeSql, type SqlDialect } from '../../src/pooler/sql-tokens.js'

const tokensOf = (sql: string, dialect: SqlDialect = 'postgres') => tokenizeSql(sql, dialect).statements
const words = (sql: string, dialect: SqlDialect = 'postgres'): string[][] =>
  tokensOf(sql, dialect).map((tokens) => tokens.filter((t) => t.kind === 'word').map((t) => t.text))
const ofKind = (sql: string, kind: string, dialect: SqlDialect = 'postgres'): string[] =>
  tokensOf(sql, dialect)
    .flat()
    .filter((t) => t.kind === kind)
    .map((t) => t.text)
const strings = (sql: string, dialect: SqlDialect = 'postgres'): string[] => ofKind(sql, 'string', dialect)

describe('tokenizeSql (PostgreSQL)', () => {
  it('lowercases words and splits statements at semicolons', () => {
    expect(words('SeLeCt 1; SET x = 2 ;; select 3')).toEqual([['select'], ['set', 'x'], ['select']])
  })

  it('drops line and nested block comments, and a semicolon inside them splits nothing', () => {
    expect(words('select 1 -- ; set x\n, /* a /* nested; set y */ still ; comment */ 2')).toEqual([['select']])
    expect(words('/* /* */ */ set x = 1')).toEqual([['set', 'x']])
    expect(tokenizeSql('/* unterminated ; set x', 'postgres')).toEqual({ statements: [], unterminated: true })
  })

  it('reads string literals with doubled quotes and keeps semicolons inside them', () => {
    expect(strings("select 'it''s; set x = 1'")).toEqual(["it's; set x = 1"])
    expect(words("select 'it''s; set x = 1'")).toEqual([['select']])
  })

  it("decodes E'…' escapes, and reads plain '…' without them unless asked", () => {
    expect(strings(String.raw`select E'a\'; set x', 'b\'`)).toEqual(["a'; set x", 'b\\'])
    expect(strings(String.raw`select e'\x41\101\u0041\n'`)).toEqual(['AAA\n'])
    expect(words(String.raw`select 'b\'; set x = 1`)).toEqual([['select'], ['set', 'x']])
    expect(
      tokenizeSql(String.raw`select 'b\'; set x = 1'`, 'postgres', { backslashEscapes: true }).statements,
    ).toHaveLength(1)
  })

  it("reads B'…', X'…', N'…' and U&'…' as strings, U&\"…\" as an identifier", () => {
    expect(
      tokensOf(`select x'ff', b'01', n'n', u&'u', U&"Id"`)
        .flat()
        .map((t) => t.kind),
    ).toEqual([
      'word',
      'string',
      'punctuation',
      'string',
      'punctuation',
      'string',
      'punctuation',
      'string',
      'punctuation',
      'identifier',
    ])
  })

  it('decodes U& escapes, with UESCAPE after comments', () => {
    expect(ofKind(String.raw`select U&"pg\005fadvisory\005flock"(1)`, 'identifier')).toEqual(['pg_advisory_lock'])
    expect(ofKind(String.raw`select U&"d!0061t!+000061" /* c */ UESCAPE '!'`, 'identifier')).toEqual(['data'])
    expect(words(String.raw`select U&"d!0061t!+000061" UESCAPE '!' from x`)).toEqual([['select', 'from', 'x']])
    expect(strings(String.raw`select u&'\0073et'`)).toEqual(['set'])
  })

  it('reads quoted identifiers exactly, with doubled quotes', () => {
    expect(tokensOf('select "Set ""x"""; set y').flat()).toContainEqual({ kind: 'identifier', text: 'Set "x"' })
    expect(words('select "a;b"; set y')).toEqual([['select'], ['set', 'y']])
  })

  it('reads dollar quoting with and without tags, not confusing them with $1 parameters', () => {
    expect(strings('do $$ begin; set x = 1; end $$; select $tag$ a $$ b; $tag$, $1')).toEqual([
      ' begin; set x = 1; end ',
      ' a $$ b; ',
    ])
    expect(ofKind('select $1, $22', 'parameter')).toEqual(['$1', '$22'])
    expect(words('select a$b, $x$ ; $x$')).toEqual([['select', 'a$b']])
  })

  it('runs an unterminated literal to the end of the text, and says so', () => {
    expect(words("select 'open; set x = 1")).toEqual([['select']])
    expect(tokenizeSql('select $q$ open; set x = 1', 'postgres').unterminated).toBe(true)
    expect(tokenizeSql("select 'closed'", 'postgres').unterminated).toBe(false)
  })

  it('keeps operators apart from a following comment', () => {
    expect(
      tokensOf('select 1+--c\n2')
        .flat()
        .map((t) => t.text),
    ).toEqual(['select', '1', '+', '2'])
  })
})

describe('tokenizeSql (MySQL)', () => {
  it('reads #, "-- " and block comments, but not "--" without a space', () => {
    expect(words('select 1 # ; set x\n, 2 -- ; set y\n', 'mysql')).toEqual([['select']])
    expect(words('select 1--1, get_lock', 'mysql')).toEqual([['select', 'get_lock']])
  })

  it('reads executable comments as SQL, with or without a version', () => {
    expect(words('/*! LOCK TABLES t READ */', 'mysql')).toEqual([['lock', 'tables', 't', 'read']])
    expect(words('/*!40101SET @x = 1*/; select /*M!100100 get_lock */ 1', 'mysql')).toEqual([
      ['set'],
      ['select', 'get_lock'],
    ])
    expect(words('select /*+ hint */ 1', 'mysql')).toEqual([['select']])
  })

  it('decodes backticks and strings with backslash escapes', () => {
    expect(ofKind('select `GET``LOCK`', 'identifier', 'mysql')).toEqual(['GET`LOCK'])
    expect(strings(String.raw`select 'a\'; set x', "b""c"`, 'mysql')).toEqual(["a'; set x", 'b"c'])
    expect(words(String.raw`select 'a\'; set x = 1`, 'mysql')).toEqual([['select']])
    expect(
      tokenizeSql(String.raw`select 'a\'; set x = 1`, 'mysql', { backslashEscapes: false }).statements,
    ).toHaveLength(2)
  })

  it('reads user and system variables in every spelling', () => {
    expect(ofKind('select @`V` := 1, @\'w\', @"x", @y.z, @@SESSION.sql_mode, @@x', 'variable', 'mysql')).toEqual([
      '@v',
      '@w',
      '@x',
      '@y.z',
      '@@session.sql_mode',
      '@@x',
    ])
    expect(ofKind('select @v:=1', 'operator', 'mysql')).toEqual([':='])
  })
})
