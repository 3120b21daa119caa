import { fileURLToPath } from 'node:url'

/**
 * Tests import the workspace packages by name; this points those names at
 * the TypeScript sources so a test run never depends on a stale build.
 */
export const workspaceAliases = {
  '@kysely-pooled/core': fileURLToPath(new URL('./packages/core/src/index.ts', import.meta.url)),
  'kysely-pooled': fileURLToPath(new URL('./packages/kysely-pooled/src/index.ts', import.meta.url)),
}
