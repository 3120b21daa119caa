import type { ContenderId } from './contenders/contender.js'
import type { BenchResults, TargetCheck } from './results.js'
import type { ThroughputResult } from './scenarios/throughput.js'
import { summarize } from './statistics.js'

const TARGET_CONCURRENCY = 64

/** Checks the stated targets against what was measured. Never rounds a miss into a pass. */
export function checkTargets(results: Omit<BenchResults, 'targets'>): TargetCheck[] {
  const checks: TargetCheck[] = []
  for (const result of results.throughput) {
    const db = databaseLabel(result.database)
    const ours = row(result, 'kysely-pooled')
    const ceiling = row(result, 'kysely-ceiling')
    const vsStock = ours?.ratioToStock.median
    checks.push({
      target: `${db}: ≥ 1.10× the stock Kysely dialect at concurrency ${TARGET_CONCURRENCY} (point select, hygiene on)`,
      measured: vsStock === undefined ? 'not measured' : `${vsStock.toFixed(2)}× (per-round ${ours!.ratioToStock.min.toFixed(2)}–${ours!.ratioToStock.max.toFixed(2)})`,
      met: vsStock === undefined ? null : vsStock >= 1.1,
    })
    if (ours && ceiling) {
      const paired = summarize(ours.opsPerSecond.samples.map((value, i) => value / (ceiling.opsPerSecond.samples[i] ?? Number.NaN)))
      checks.push({
        target: `${db}: ≥ 0.95× the Kysely no-pool ceiling at concurrency ${TARGET_CONCURRENCY}`,
        measured: `${paired.median.toFixed(2)}× (per-round ${paired.min.toFixed(2)}–${paired.max.toFixed(2)})`,
        met: paired.median >= 0.95,
      })
    }
  }
  for (const result of results.hygiene) {
    const auto = result.rows.find((r) => r.mode === "kysely-pooled reset 'auto'")
    checks.push({
      target: `${databaseLabel(result.database)}: zero extra statements per clean release, reset 'auto'`,
      measured: auto ? `${auto.extraStatementsPer10k} per 10,000 releases` : 'not measured',
      met: auto ? auto.extraStatementsPer10k === 0 : null,
    })
  }
  const overhead = results.overhead
  const uncontended = overhead?.rows.find((r) => r.pool === 'kysely-pooled' && r.load === 'uncontended')
  checks.push({
    target: 'Pool overhead ≤ 1 µs per acquire + release pair (uncontended, fake connector)',
    measured: uncontended
      ? `${(uncontended.nsPerPair.median / 1000).toFixed(2)} µs CPU, best round ${(uncontended.nsPerPair.min / 1000).toFixed(2)} µs (raw tarn ${(tarnNs(results, 'uncontended') / 1000).toFixed(2)} µs)`
      : 'not measured',
    met: uncontended ? uncontended.nsPerPair.median <= 1000 : null,
  })
  const contended = overhead?.rows.find((r) => r.pool === 'kysely-pooled' && r.load === 'contended')
  checks.push({
    target: 'Issue 2: ≤ raw tarn + 1 µs per pair with 1,000 waiters on max 10',
    measured: contended
      ? `${(contended.nsPerPair.median / 1000).toFixed(2)} µs CPU = tarn ${contended.differenceToTarnNs.median >= 0 ? '+' : '−'} ${(Math.abs(contended.differenceToTarnNs.median) / 1000).toFixed(2)} µs (${ratioText(contended.ratioToTarn.median)} tarn)`
      : 'not measured',
    met: contended ? contended.differenceToTarnNs.median <= 1000 : null,
  })
  return checks
}

function row(result: ThroughputResult, contender: ContenderId) {
  return result.rows.find((r) => r.contender === contender && r.concurrency === TARGET_CONCURRENCY)
}

function tarnNs(results: Omit<BenchResults, 'targets'>, load: 'uncontended' | 'contended'): number {
  return results.overhead?.rows.find((r) => r.pool === 'tarn' && r.load === load)?.nsPerPair.median ?? Number.NaN
}

function ratioText(value: number): string {
  return `${value.toFixed(2)}×`
}

export function databaseLabel(id: string): string {
  return id === 'postgres' ? 'PostgreSQL' : 'MariaDB'
}
