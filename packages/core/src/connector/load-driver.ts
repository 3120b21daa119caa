import { createRequire } from 'node:module'

/**
 * Loads a database driver on first use rather than at import: the drivers are
 * optional peers, and using one connector must not require the other's driver.
 */
export function loadDriver<T>(packageName: string, connectorName: string): T {
  const require = createRequire(import.meta.url)
  try {
    return require(packageName) as T
  } catch (error) {
    throw new Error(`${connectorName} needs the '${packageName}' package: npm install ${packageName}`, { cause: error })
  }
}
