import { defineConfig } from 'vitest/config'

// One run, every package: each package's own vitest.config.ts is a project.
// kysely-pooled adds three: its suite again on kysely 0.28, and both again with pipeline: true.
export default defineConfig({
  test: {
    // Once per run, for every project: a PgBouncer for the PostgreSQL-through-PgBouncer target.
    globalSetup: ['./packages/core/test/support/pgbouncer/global-setup.ts'],
    projects: [
      'packages/*/vitest.config.ts',
      'packages/kysely-pooled/vitest.kysely028.config.ts',
      'packages/kysely-pooled/vitest.pipeline.config.ts',
      'packages/kysely-pooled/vitest.kysely028-pipeline.config.ts',
    ],
  },
})
