import { fileURLToPath } from 'node:url'
import { configDefaults, defineProject, type UserWorkspaceConfig } from 'vitest/config'
import { workspaceAliases } from '../../vitest.shared.js'

export type KyselyLine = '0.29' | '0.28'

/**
 * The kysely-pooled test project, for one Kysely release line. The same test
 * files run on both: vitest.config.ts (kysely 0.29, the installed `kysely`)
 * and vitest.kysely028.config.ts; and on both again with `pipeline: true`
 * for PostgreSQL (vitest.pipeline.config.ts, vitest.kysely028-pipeline.config.ts).
 */
export function kyselyPooledProject(name: string, line: KyselyLine, pipeline = false): UserWorkspaceConfig {
  const alias = [...workspaceAliases]
  if (line === '0.28') {
    // `kysely-0.28` is kysely@0.28.x installed under an alias (a
    // devDependency). Its package.json `exports` maps the `import` condition
    // to dist/esm/index.js; Node's ESM resolution finds that exact file, and
    // the alias points every bare `kysely` import — in the sources as in the
    // tests — at it.
    alias.push({ find: /^kysely$/, replacement: fileURLToPath(import.meta.resolve('kysely-0.28')) })
  }
  return defineProject({
    resolve: { alias },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      // The replica suites start their own servers and test routing, not
      // Kysely's API: once, on the installed kysely without pipelining, is enough.
      exclude: line === '0.28' || pipeline ? [...configDefaults.exclude, 'test/replicas/**'] : configDefaults.exclude,
      globalSetup: ['./test/global-setup.ts'],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      // test/abandoned-gc.test.ts drives the garbage collector.
      execArgv: ['--expose-gc'],
      // Tests name their tables after the line (and variant), so all projects can run at once.
      env: { KP_KYSELY_LINE: line, KP_PIPELINE: pipeline ? '1' : '' },
    },
  })
}
