/**
 * Query parameters that drivers accept as a password (pg: `password`,
 * mysql2: `password`, `password1`…). Their values are as secret as the
 * userinfo part.
 */
const PASSWORD_PARAMETER_NAMES = String.raw`password\d*|pass|passwd|pwd|sslpassword`
const PASSWORD_PARAMETER = new RegExp(`^(?:${PASSWORD_PARAMETER_NAMES})$`, 'i')
/** The same names as `name=value` inside a string that does not parse as a URL. */
const PASSWORD_ASSIGNMENT = new RegExp(`(${PASSWORD_PARAMETER_NAMES})=[^&\\s]*`, 'gi')

const REDACTED = '***'

/**
 * Returns the connection URL with every password removed, for errors, logs
 * and test names. The username, host, port and database stay: they are what a
 * reader needs to recognise the target.
 *
 * A string that does not parse as a URL is still scrubbed (everything between
 * `user:` and the last `@` goes): a malformed URL is exactly the kind that ends
 * up in an error message. It errs on the side of removing too much.
 */
export function redactUrl(url: string): string {
  // Several '@': a password with an unencoded '@' or '/' that a URL parser
  // would split somewhere inside the secret. Cut at the last '@' instead.
  if (url.indexOf('@') !== url.lastIndexOf('@')) {
    return redactUnparseable(url)
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return redactUnparseable(url)
  }
  if (parsed.password !== '') {
    parsed.password = ''
  }
  for (const key of [...parsed.searchParams.keys()]) {
    if (PASSWORD_PARAMETER.test(key)) {
      parsed.searchParams.set(key, REDACTED)
    }
  }
  return parsed.toString()
}

function redactUnparseable(url: string): string {
  const at = url.lastIndexOf('@')
  if (at === -1) {
    return url.replace(PASSWORD_ASSIGNMENT, `$1=${REDACTED}`)
  }
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? ''
  const userinfo = url.slice(scheme.length, at)
  const colon = userinfo.indexOf(':')
  const user = colon === -1 ? userinfo : userinfo.slice(0, colon)
  return `${scheme}${user}${colon === -1 ? '' : `:${REDACTED}`}@${url.slice(at + 1)}`
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
