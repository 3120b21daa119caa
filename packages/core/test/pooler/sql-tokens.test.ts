import { describe, expect, it } from 'vitest'
import { tokenizeStatements, type SqlToken } from '../../src/pooler/sql-tokens.js'

const words = (sql: string): string[][] =>
  tokenizeStatements(sql).map((tokens) => tokens.filter((t) => t.type === 'word').map((t) => t.value))
const strings = (sql: string): string[] =>
  tokenizeStatements(sql)
    .flat()
    .filter((t): t is Extract<SqlToken, { type: 'string' }> => t.type === 'string')
    .map((t) => t.value)

describe('tokenizeStatements', () => {
  it('lowercases words and splits statements at semicolons', () => {
    expect(words('SeLeCt 1; SET x = 2 ;; select 3')).toEqual([['select'], ['set', 'x'], ['select']])
  })

  it('drops line and nested block comments, and a semicolon inside them splits nothing', () => {
    expect(words('select 1 -- ; set x\n, /* a /* nested; set y */ still ; comment */ 2')).toEqual([['select']])
    expect(words('/* unterminated ; set x')).toEqual([])
  })

  it('reads string literals with doubled quotes and keeps semicolons inside them', () => {
    expect(strings("select 'it''s; set x = 1'")).toEqual(["it's; set x = 1"])
    expect(words("select 'it''s; set x = 1'")).toEqual([['select']])
  })

  it("reads E'…' with backslash escapes, and plain '…' without", () => {
    expect(strings(String.raw`select E'a\'; set x', 'b\'`)).toEqual(["a'; set x", 'b\\'])
    expect(words(String.raw`select 'b\'; set x = 1`)).toEqual([['select'], ['set', 'x']])
  })

  it("reads B'…', X'…', N'…' and U&'…' as strings, U&\"…\" as a quoted identifier", () => {
    expect(
      tokenizeStatements(`select x'ff', b'01', n'n', u&'u', U&"Id"`)
        .flat()
        .map((t) => t.type),
    ).toEqual(['word', 'string', 'other', 'string', 'other', 'string', 'other', 'string', 'other', 'quoted'])
  })

  it('reads quoted identifiers exactly, with doubled quotes', () => {
    expect(tokenizeStatements('select "Set ""x"""; set y').flat()).toContainEqual({ type: 'quoted', value: 'Set "x"' })
    expect(words('select "a;b"; set y')).toEqual([['select'], ['set', 'y']])
  })

  it('reads dollar quoting with and without tags, not confusing them with $1 parameters', () => {
    expect(strings('do $$ begin; set x = 1; end $$; select $tag$ a $$ b; $tag$, $1')).toEqual([
      ' begin; set x = 1; end ',
      ' a $$ b; ',
    ])
    expect(
      tokenizeStatements('select $1, $22')
        .flat()
        .map((t) => t.value),
    ).toEqual(['select', '$1', ',', '$22'])
    expect(words('select a$b, $x$ ; $x$')).toEqual([['select', 'a$b']])
  })

  it('runs an unterminated literal to the end of the text', () => {
    expect(words("select 'open; set x = 1")).toEqual([['select']])
    expect(words('select $q$ open; set x = 1')).toEqual([['select']])
  })

  it('keeps operators apart from a following comment', () => {
    expect(
      tokenizeStatements('select 1+--c\n2')
        .flat()
        .map((t) => t.value),
    ).toEqual(['select', '1', '+', '2'])
  })
})
