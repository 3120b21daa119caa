import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('../../../../', import.meta.url))

function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs)
  }
  return newest
}

/**
 * Some examples run as real processes (node:cluster forks `worker.js`), so
 * their test needs the built JavaScript. The root `pnpm test` builds first;
 * a bare `vitest run --project examples` gets a build here when any source of
 * the examples or the packages they import is newer than it.
 */
export function ensureExamplesBuilt(entry: string): string {
  const built = join(repo, 'packages/examples/dist', entry)
  const packages = ['core', 'kysely-pooled', 'examples']
  const stale =
    !existsSync(built) ||
    packages.some((name) => {
      const dist = join(repo, 'packages', name, 'dist')
      return !existsSync(dist) || newestSource(join(repo, 'packages', name, 'src')) > statSync(built).mtimeMs
    })
  if (stale) {
    try {
      // --no-bail: tsc emits even when another package has a type error mid-edit;
      // type errors are the typecheck's business, not this test's.
      execFileSync('pnpm', ['--filter', '@kysely-pooled/examples...', '--no-bail', 'build'], {
        cwd: repo,
        stdio: 'pipe',
      })
    } catch (error) {
      if (!existsSync(built)) throw error
    }
  }
  return built
}
