import { oursOnFake, oursOnFakeNoLeakDetection, type FakePool } from './fake/fake-pools.js'
import { POOL_MAX } from './settings.js'

/**
 * The workload the instruction count runs under callgrind (see
 * scenarios/instructions.ts): `warm` acquire + release pairs for the JIT,
 * then `pairs` more, uncontended, on the fake connector. `--pool=bare`
 * runs the same loop on a "pool" that hands out a resolved promise: the
 * loop's own cost, subtracted to leave the pool's.
 */
const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=')
    return [key!, value ?? '']
  }),
)
const warm = Number(args.get('warm') ?? 0)
const pairs = Number(args.get('pairs') ?? 0)

const RESOLVED = Promise.resolve()
const pool: FakePool =
  args.get('pool') === 'bare'
    ? { acquire: () => Promise.resolve({}), release: () => RESOLVED, destroy: () => RESOLVED }
    : args.get('pool') === 'kysely-pooled-no-leak-detection'
      ? oursOnFakeNoLeakDetection.create(POOL_MAX, 60_000)
      : oursOnFake.create(POOL_MAX, 60_000)

async function run(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const handle = await pool.acquire()
    await pool.release(handle)
  }
}

// The connections are opened first, as in the timed overhead scenario.
const opened = await Promise.all(Array.from({ length: POOL_MAX }, () => pool.acquire()))
await Promise.all(opened.map((handle) => pool.release(handle)))
await run(warm)
await run(pairs)
await pool.destroy()
