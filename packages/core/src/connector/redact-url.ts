/**
 * Query parameters a driver may read as a password: pg reads `password`
 * (and `sslpassword` for the key); mysql2 3.x reads `password1`…`password3`
 * (its multi-factor passwords), not `password`, but a user may well write
 * it. Every such value is as secret as the userinfo part, whichever driver.
 */
const PASSWORD_PARAMETER_NAMES = String.raw`password\d*|pass|passwd|pwd|sslpassword`
const PASSWORD_PARAMETER = new RegExp(`^(?:${PASSWORD_PARAMETER_NAMES})$`, 'i')
/** The same names as `name=value` inside a string that is not a URL at all. */
const PASSWORD_ASSIGNMENT = new RegExp(`(${PASSWORD_PARAMETER_NAMES})=[^&\\s]*`, 'gi')

const REDACTED = '***'

/**
 * Returns the connection URL with every password removed, for errors, logs
 * and test names. The username, host, port and database stay: they are what a
 * reader needs to recognise the target.
 *
 * It works on the parsed URL (the WHATWG parser, as pg-connection-string and
 * mysql2 use), never by searching the text for '@': a literal '@' in a
 * `?password=` value is just part of the query. Where an unencoded '/' or
 * '#' in the password made the parser split the secret, its tail lands in
 * the path or fragment: a path holding '@' and any fragment are dropped too.
 * A string that does not parse keeps only its scheme.
 */
export function redactUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0]
    // Not a URL at all (key=value settings): scrub the password assignments.
    return scheme === undefined ? url.replace(PASSWORD_ASSIGNMENT, `$1=${REDACTED}`) : `${scheme}//${REDACTED}`
  }
  parsed.password = ''
  for (const key of [...parsed.searchParams.keys()]) {
    if (PASSWORD_PARAMETER.test(key)) {
      parsed.searchParams.set(key, REDACTED)
    }
  }
  if (decodeURIComponent(parsed.pathname).includes('@')) {
    parsed.pathname = `/${REDACTED}`
  }
  parsed.hash = ''
  return parsed.toString()
}

/**
 * Removes every occurrence of `secret` from `text`. Used on driver error
 * messages and stacks as a last line of defence: whatever a driver or a URL
 * parser put in a message, the password does not leave the connector.
 */
export function redactSecret(text: string, secret: string | undefined): string {
  if (secret === undefined || secret === '') return text
  let result = text
  for (const form of new Set([secret, encodeURIComponent(secret)])) {
    result = result.split(form).join(REDACTED)
  }
  return result
}
