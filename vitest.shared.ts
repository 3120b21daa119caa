import { fileURLToPath } from 'node:url'

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/**
 * Tests import the workspace packages by name; this points those names at
 * the TypeScript sources so a test run never depends on a stale build.
 */
export const workspaceAliases = [
  { find: /^@kysely-pooled\/core$/, replacement: source('./packages/core/src/index.ts') },
  { find: /^@kysely-pooled\/core\/testing$/, replacement: source('./packages/core/src/testing/index.ts') },
  { find: /^@kysely-pooled\/core\/opentelemetry$/, replacement: source('./packages/core/src/opentelemetry/index.ts') },
  { find: /^kysely-pooled$/, replacement: source('./packages/kysely-pooled/src/index.ts') },
]
