import type { SqlToken } from './sql-tokens.js'

/** Matchers over decoded tokens, shared by the PostgreSQL and MySQL classifiers. */

/** An unquoted word (keyword or name), already lowercased. */
export function isWord(token: SqlToken | undefined, word: string): boolean {
  return token?.kind === 'word' && token.text === word
}

/** A name, quoted or not: a quoted one must match exactly (`"PG_TEMP"` is another schema). */
export function isName(token: SqlToken | undefined, name: string): boolean {
  return (token?.kind === 'word' || token?.kind === 'identifier') && token.text === name
}

export function isPunct(token: SqlToken | undefined, punct: string): boolean {
  return token?.kind === 'punctuation' && token.text === punct
}

/** Whether `words` appear consecutively at or after `start`. */
export function hasWords(tokens: readonly SqlToken[], start: number, words: readonly string[]): boolean {
  for (let i = start; i + words.length <= tokens.length; i++) {
    if (words.every((word, k) => isWord(tokens[i + k], word))) return true
  }
  return false
}

/** The arguments of the call whose `(` is at `open`, split at top-level commas. */
export function callArguments(tokens: readonly SqlToken[], open: number): SqlToken[][] {
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
  return args
}

/** The index after a balanced `( … )` opened at `open`. */
export function skipParentheses(tokens: readonly SqlToken[], open: number): number {
  let depth = 0
  for (let i = open; i < tokens.length; i++) {
    if (isPunct(tokens[i], '(')) depth++
    else if (isPunct(tokens[i], ')') && --depth === 0) return i + 1
  }
  return tokens.length
}

/** The statement's words with literals elided, at most 80 characters: safe to log. */
export function excerptOf(tokens: readonly SqlToken[]): string {
  let text = ''
  for (const token of tokens) {
    const part =
      token.kind === 'string'
        ? "'…'"
        : token.kind === 'identifier'
          ? `"${token.text}"`
          : token.kind === 'variable'
            ? token.text.startsWith('@@')
              ? token.text
              : '@…'
            : token.text
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
