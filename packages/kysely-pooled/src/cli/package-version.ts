import { createRequire } from 'node:module'

/** This package's version, from its package.json (two levels up from both src/cli and dist/cli). */
export function packageVersion(): string {
  const require = createRequire(import.meta.url)
  return (require('../../package.json') as { version: string }).version
}
