import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

/**
 * The published types as applications compile them: type-consumers/consumer.ts
 * (the drivers' own config types, TLS objects, the opentelemetry subpath,
 * `await using`) in ESM and CommonJS projects, each module setting a
 * TypeScript user picks, `strict` with and without
 * `exactOptionalPropertyTypes`. Two of them also check every library's
 * types (no skipLibCheck), the slow part, so the rest skip it. A MySQL-only
 * app without @types/pg is pack-install.test.ts's.
 */

const examples = fileURLToPath(new URL('../', import.meta.url))
const consumer = fileURLToPath(new URL('type-consumers/consumer.ts', import.meta.url))
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const root = mkdtempSync(join(tmpdir(), 'kp-type-consumers-'))

interface Consumer {
  readonly name: string
  readonly type: 'module' | 'commonjs'
  readonly compilerOptions: Record<string, unknown>
}

const CHECK_LIBS = { skipLibCheck: false }

const CONSUMERS: readonly Consumer[] = [
  { name: 'ESM, module nodenext', type: 'module', compilerOptions: { module: 'nodenext', ...CHECK_LIBS } },
  {
    name: 'ESM, module nodenext, exactOptionalPropertyTypes',
    type: 'module',
    compilerOptions: { module: 'nodenext', exactOptionalPropertyTypes: true },
  },
  { name: 'ESM, module node16', type: 'module', compilerOptions: { module: 'node16' } },
  { name: 'CommonJS, module nodenext', type: 'commonjs', compilerOptions: { module: 'nodenext' } },
  { name: 'CommonJS, module commonjs', type: 'commonjs', compilerOptions: { module: 'commonjs', ...CHECK_LIBS } },
  {
    name: 'CommonJS, module commonjs, exactOptionalPropertyTypes',
    type: 'commonjs',
    compilerOptions: { module: 'commonjs', exactOptionalPropertyTypes: true },
  },
]

// Each compile is one process: two at a time, one per core.
const PARALLEL = 2
let running = 0
const queued: Array<() => void> = []

async function compile(dir: string): Promise<{ code: number; output: string }> {
  if (running >= PARALLEL) {
    await new Promise<void>((resolve) => queued.push(resolve))
  }
  running++
  try {
    return await runTsc(dir)
  } finally {
    running--
    queued.shift()?.()
  }
}

function runTsc(dir: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', dir], { timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: stdout + stderr })
    })
  })
}

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

// Queued compiles count against the timeout too: generous, for a busy machine.
describe('type consumers', { timeout: 600_000 }, () => {
  // Each compile is one process: two at a time, one per core.
  it.concurrent.each(CONSUMERS)(
    '$name compiles the drivers’ own config types',
    async ({ name, type, compilerOptions }) => {
      const dir = join(root, name.replace(/\W+/g, '-'))
      mkdirSync(dir)
      // The application's node_modules: the workspace packages and the drivers with their types.
      symlinkSync(join(examples, 'node_modules'), join(dir, 'node_modules'), 'dir')
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type }))
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            lib: ['ES2023'],
            types: ['node'],
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            esModuleInterop: true,
            ...compilerOptions,
          },
          files: ['consumer.ts'],
        }),
      )
      copyFileSync(consumer, join(dir, 'consumer.ts'))
      const { code, output } = await compile(dir)
      expect(output).toBe('')
      expect(code).toBe(0)
    },
  )
})
