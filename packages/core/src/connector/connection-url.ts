/** Parses a connection URL; `undefined` when it does not parse (the error would quote the whole URL, password included). */
export function parseConnectionUrl(url: string | undefined): URL | undefined {
  if (url === undefined) return undefined
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}

/**
 * The password in a connection URL, percent-decoded, so that it can be
 * scrubbed from errors; `undefined` when there is none or the URL does not
 * parse. Throws `URIError` on a malformed %-escape, as `decodeURIComponent` does.
 */
export function passwordInUrl(url: string | undefined): string | undefined {
  const password = parseConnectionUrl(url)?.password
  return password === undefined || password === '' ? undefined : decodeURIComponent(password)
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
