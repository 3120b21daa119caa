import type { TestDialect } from '../../../src/testing/index.js'

/**
 * How a corpus statement is spelled. A template's tokens are separated by
 * single spaces: UPPERCASE words are keywords (their case varies), `«x»` a
 * name that may be quoted, `‹f›` a function name that may be quoted,
 * qualified or escaped; anything else stays as written. `{n}` is the case
 * number (unique names, lock keys).
 */
export interface Spelling {
  /** Keyword case: as written, lower, or alternating. */
  readonly keywordCase: 'upper' | 'lower' | 'mixed'
  /** What goes between tokens. */
  readonly separator: string
  /** Quote `«names»`. */
  readonly quoteNames: boolean
  /** How `‹functions›` are written. */
  readonly functionName: FunctionSpelling
}

export type FunctionSpelling = 'plain' | 'quoted' | 'qualified' | 'qualified-quoted' | 'escaped' | 'escaped-uescape'

export const PLAIN: Spelling = Object.freeze({
  keywordCase: 'upper',
  separator: ' ',
  quoteNames: false,
  functionName: 'plain',
})

export const SEPARATORS: Readonly<Record<TestDialect, readonly string[]>> = Object.freeze({
  postgres: [' ', '\n\t', ' /* c */ ', '/* /* nested */ */', ' --c\n '],
  mysql: [' ', '\n\t', ' /* c */ ', '/**/', ' # c\n ', ' -- c\n '],
})

export const FUNCTION_SPELLINGS: Readonly<Record<TestDialect, readonly FunctionSpelling[]>> = Object.freeze({
  postgres: ['plain', 'quoted', 'qualified', 'qualified-quoted', 'escaped', 'escaped-uescape'],
  mysql: ['plain', 'quoted'],
})

export function render(template: string, spelling: Spelling, dialect: TestDialect, n: number): string {
  return template
    .replaceAll('{n}', String(n))
    .split(' ')
    .map((token) => spell(token, spelling, dialect).replaceAll('~', ' '))
    .join(spelling.separator)
}

function spell(token: string, spelling: Spelling, dialect: TestDialect): string {
  const name = /^«(.+)»$/.exec(token)
  if (name !== null) return spelling.quoteNames ? quote(name[1]!, dialect) : name[1]!
  const fn = /^‹(.+)›(.*)$/.exec(token)
  if (fn !== null) return functionName(fn[1]!, spelling.functionName, dialect) + fn[2]!
  if (/^[A-Z][A-Z_]*$/.test(token)) {
    if (spelling.keywordCase === 'lower') return token.toLowerCase()
    if (spelling.keywordCase === 'mixed') return [...token].map((c, i) => (i % 2 === 0 ? c.toLowerCase() : c)).join('')
  }
  return token
}

function quote(name: string, dialect: TestDialect): string {
  return dialect === 'postgres' ? `"${name}"` : `\`${name}\``
}

function functionName(name: string, spelling: FunctionSpelling, dialect: TestDialect): string {
  if (dialect === 'mysql') return spelling === 'quoted' ? quote(name.toUpperCase(), dialect) : name
  switch (spelling) {
    case 'plain':
      return name
    case 'quoted':
      return `"${name}"`
    case 'qualified':
      return `pg_catalog.${name}`
    case 'qualified-quoted':
      return `"pg_catalog"."${name}"`
    case 'escaped':
      return `U&"${[...name].map((c) => (c === '_' ? '\\005f' : c)).join('')}"`
    case 'escaped-uescape':
      return `U&"${[...name].map((c) => (c === '_' || c === 'a' ? `!${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c)).join('')}" UESCAPE '!'`
  }
}
