import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const packageRoot = fileURLToPath(new URL('../../', import.meta.url))
const bin = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))
const SECRET = 'kp-Bin-Secret-5150'

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: packageRoot, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

// The built bin, as `npx kysely-pooled` runs it. The root `pnpm test` builds first.
describe('the kysely-pooled bin (dist/cli/main.js)', () => {
  it('is what package.json "bin" names, and is built with its shebang', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      bin: Record<string, string>
    }
    expect(manifest.bin['kysely-pooled']).toBe('./dist/cli/main.js')
    expect(existsSync(bin), `${bin} is missing: run \`pnpm build\` before the tests`).toBe(true)
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
  })

  it('doctor --help exits 0', async () => {
    const r = await run('doctor', '--help')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage: kysely-pooled doctor [<url>…]')
  })

  it('a refused connection: exit 2, one line on stderr, no password', async () => {
    const r = await run('doctor', `postgres://someone:${SECRET}@127.0.0.1:1/db`, '--timeout', '2000')
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      'kysely-pooled doctor: cannot connect to postgres://someone@127.0.0.1:1/db: connection refused (is the server running and listening on that host and port?)\n',
    )
    expect(r.stderr).not.toContain(SECRET)
  })
})
