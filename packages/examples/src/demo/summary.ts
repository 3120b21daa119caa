import type { PoolRecord } from './demo-context.js'
import type { DemoContext } from './demo-context.js'
import { renderTable, type Column } from './table.js'

const COLUMNS: readonly Column<PoolRecord>[] = [
  { header: 'pool', value: (r) => r.stats.name },
  { header: 'max', value: (r) => r.stats.max },
  { header: 'opened', value: (r) => r.stats.created },
  { header: 'acquires', value: (r) => r.stats.acquires },
  { header: 'wait p99', value: (r) => `${Math.round(r.stats.waitMillis.p99)} ms`, align: 'right' },
  { header: 'timeouts', value: (r) => r.stats.timeouts },
  { header: 'queueFull', value: (r) => r.stats.queueFull },
  { header: 'rolledBack', value: (r) => r.stats.rolledBackOnRelease },
  { header: 'reset', value: (r) => r.stats.resetOnRelease },
  { header: 'revoked', value: (r) => r.stats.revoked },
]

/** Step 5: every pool the demo used, from its own `pool.stats()`. */
export function summary(ctx: DemoContext): void {
  ctx.term.heading('5. Summary: pool.stats() of every pool above')
  for (const line of renderTable(ctx.records, COLUMNS, '  ')) {
    ctx.term.line(line)
  }
}
