import { CliError } from './cli-io.js'

export type DoctorDialect = 'postgres' | 'mysql'

export interface DatabaseUrl {
  readonly dialect: DoctorDialect
  /** The URL the driver gets (`mariadb://` rewritten to `mysql://`). Contains the password. */
  readonly driverUrl: string
  /** The URL for humans: no password. */
  readonly displayUrl: string
  /** The secrets to scrub from anything printed: the password, raw and decoded. */
  readonly secrets: readonly string[]
}

const SCHEMES: Readonly<Record<string, DoctorDialect>> = Object.freeze({
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'mysql:': 'mysql',
  'mariadb:': 'mysql',
})

const PASSWORD_PARAMETER = /^(?:password\d*|pass|passwd|pwd|sslpassword)$/i

/**
 * Parses a connection URL; the scheme decides the driver. Errors never quote
 * the URL: a URL that fails to parse may still hold a password.
 */
export function parseDatabaseUrl(input: string): DatabaseUrl {
  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw new CliError(
      'not a valid URL; expected postgres://user:password@host:5432/db or mysql://user:password@host:3306/db',
    )
  }
  const dialect = SCHEMES[url.protocol]
  if (dialect === undefined) {
    throw new CliError(`unsupported scheme "${url.protocol}"; use postgres://, postgresql://, mysql:// or mariadb://`)
  }
  if (url.hostname === '' && dialect === 'mysql') {
    throw new CliError('the URL has no host')
  }

  const secrets = new Set<string>()
  const addSecret = (value: string): void => {
    if (value === '') return
    secrets.add(value)
    try {
      secrets.add(decodeURIComponent(value))
    } catch {
      // Not percent-encoded: the raw form is already there.
    }
  }
  addSecret(url.password)

  const display = new URL(url.href)
  display.password = ''
  for (const key of [...display.searchParams.keys()]) {
    if (PASSWORD_PARAMETER.test(key)) {
      addSecret(display.searchParams.get(key) ?? '')
      display.searchParams.set(key, '***')
    }
  }

  const driverUrl = url.protocol === 'mariadb:' ? `mysql:${input.slice(input.indexOf(':') + 1)}` : input
  return Object.freeze({
    dialect,
    driverUrl,
    displayUrl: display.href,
    secrets: Object.freeze([...secrets].sort((a, b) => b.length - a.length)),
  })
}

/** Removes every secret from a text: the last line of defence before anything is printed. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let result = text
  for (const secret of secrets) {
    result = result.split(secret).join('***')
  }
  return result
}
