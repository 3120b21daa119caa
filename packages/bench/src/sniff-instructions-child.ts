import { CLEAN_STATEMENTS } from './sniff/clean-statements.js'

/**
 * The workload of the sniff's instruction count (see
 * scenarios/instructions.ts): the connectors' per-statement session sniff
 * over `CLEAN_STATEMENTS`, `warm` statements for the JIT, then `statements`
 * more. The sniff is internal to core, so it is loaded from core's build.
 */
const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=')
    return [key!, value ?? '']
  }),
)
const dialect = args.get('dialect') === 'mysql' ? 'mysql' : 'postgres'
const warm = Number(args.get('warm') ?? 0)
const statements = Number(args.get('statements') ?? 0)

interface Sniffer {
  test(text: string): boolean
}
const detector = (await import(
  new URL('./connector/session-change-detector.js', import.meta.resolve('@kysely-pooled/core')).href
)) as Record<'POSTGRES_SESSION_CHANGE' | 'MYSQL_SESSION_CHANGE', Sniffer>
const sniffer = dialect === 'mysql' ? detector.MYSQL_SESSION_CHANGE : detector.POSTGRES_SESSION_CHANGE
const texts = CLEAN_STATEMENTS[dialect]

function run(count: number): number {
  let flagged = 0
  for (let i = 0; i < count; i++) if (sniffer.test(texts[i % texts.length]!)) flagged++
  return flagged
}

run(warm)
if (run(statements) !== 0) throw new Error(`the ${dialect} sniff flagged a clean statement`)
