import { PoolConfigError } from '../errors/pool-config-error.js'
import { redactUrl } from './redact-url.js'

/**
 * Checks a PostgreSQL connection string the way pg reads it (pg-connection-string:
 * a Unix socket path as it is, stray `%` and spaces encoded, an empty host
 * allowed) and returns its percent-decoded password. Throws a
 * `PoolConfigError` naming the `connection` option — never quoting the
 * password — when it does not parse.
 */
export function checkPostgresUrl(url: string): { readonly password: string | undefined } {
  if (url.startsWith('/')) return { password: undefined }
  const text = /[ ]|%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(url) ? encodeURI(url).replace(/%25(\d\d)/g, '%$1') : url
  let parsed: URL
  try {
    parsed = new URL(text, 'postgres://base')
  } catch {
    try {
      parsed = new URL(text.replace('@/', '@___DUMMY___/'), 'postgres://base')
    } catch {
      throw urlError(url, 'is not a valid PostgreSQL connection URL')
    }
  }
  return { password: decoded(url, parsed.password, 'password') }
}

/**
 * Checks a MySQL connection URI the way mysql2 reads it (`new URL`, then each
 * part percent-decoded) and returns its password; a `PoolConfigError` naming
 * `connection` when it would fail — mysql2 itself would throw a bare
 * `URIError` at the first connect.
 */
export function checkMysqlUrl(url: string): {
  readonly password: string | undefined
  readonly database: string | undefined
} {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw urlError(url, 'is not a valid MySQL connection URL')
  }
  decoded(url, parsed.username, 'user name')
  decoded(url, parsed.hostname, 'host')
  const database = decoded(url, parsed.pathname.slice(1), 'database name')
  return { password: decoded(url, parsed.password, 'password'), database }
}

function decoded(url: string, part: string, name: string): string | undefined {
  if (part === '') return undefined
  try {
    return decodeURIComponent(part)
  } catch {
    throw urlError(url, `has a malformed %-escape in its ${name} (write a literal '%' as %25)`)
  }
}

function urlError(url: string, problem: string): PoolConfigError {
  return new PoolConfigError([`connection: the URL ${redactUrl(url)} ${problem}`])
}

/** Where a connector connects, for messages; never a password. */
export interface TargetParts {
  readonly user: string
  /** As it should appear (the caller encodes what needs encoding, e.g. a socket path). */
  readonly host: string
  /** Omitted for a Unix socket that has no port. */
  readonly port?: number | string
  readonly database: string
}

/** `scheme://user@host:port/database` — a config object described like a redacted URL, so both read alike. */
export function formatTarget(scheme: string, { user, host, port, database }: TargetParts): string {
  const userPart = user === '' ? '' : `${encodeURIComponent(user)}@`
  const portPart = port === undefined ? '' : `:${port}`
  return `${scheme}://${userPart}${host}${portPart}/${encodeURIComponent(database)}`
}
