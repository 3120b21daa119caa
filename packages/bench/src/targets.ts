import type { ContenderId } from './contenders/contender.js'
import type { BenchResults, TargetCheck } from './results.js'
import type { ThroughputResult } from './scenarios/throughput.js'
import { summarize } from './statistics.js'

const TARGET_CONCURRENCY = 64
/** Client CPU per operation through Kysely, as a share of the stock dialect's (issue 13). */
const CPU_RATIO_TARGET = 0.9
/** Pool overhead per uncontended acquire + release pair, ns of CPU (issue 13). */
const OVERHEAD_TARGET_NS = 500
/**
 * Instructions per uncontended pair (pool and loop), callgrind: a regression
 * bound with headroom over what was measured when it was set (4,168; 4,907
 * before issue 13).
 */
const INSTRUCTIONS_TARGET = 4_500
/**
 * The session sniff per clean statement before issue 17 (one regex test,
 * callgrind, the clean-statements mix): the tokenizer-backed sniff may cost
 * at most 20 % more.
 */
const SNIFF_BEFORE = { postgres: 1_457, mysql: 1_313 } as const
const SNIFF_BOUND = 1.2

/** Checks the stated targets against what was measured. Never rounds a miss into a pass. */
export function checkTargets(results: Omit<BenchResults, 'targets'>): TargetCheck[] {
  const checks: TargetCheck[] = []
  for (const [results_, what] of [
    [results.throughput, 'point select'],
    [results.transactions, 'transaction'],
  ] as const) {
    for (const result of results_) {
      const cells = result.concurrencies.map((c) => ({
        c,
        ratio: row(result, 'kysely-pooled', c)?.cpuRatioToStock.median,
      }))
      const measured = cells.filter((cell) => cell.ratio !== undefined)
      const worst = Math.max(...measured.map((cell) => cell.ratio!))
      checks.push({
        target: `${databaseLabel(result.database)}: client CPU per ${what} through Kysely ≤ ${CPU_RATIO_TARGET.toFixed(2)}× the stock dialect at every concurrency`,
        measured:
          measured.length === 0
            ? 'not measured'
            : measured.map((cell) => `c=${cell.c} ${ratioText(cell.ratio!)}`).join(', '),
        met: measured.length === 0 ? null : worst <= CPU_RATIO_TARGET,
      })
    }
  }
  for (const result of results.hygiene) {
    const auto = result.rows.find((r) => r.mode === "kysely-pooled reset 'auto'")
    checks.push({
      target: `${databaseLabel(result.database)}: hygiene cycle on a clean connection (reset 'auto') ≤ 1.00× the stock pool's cycle, CPU`,
      measured: auto
        ? `${ratioText(auto.cpuRatioToStock.median)} CPU (per-round ${auto.cpuRatioToStock.min.toFixed(2)}–${auto.cpuRatioToStock.max.toFixed(2)}); wall ${ratioText(auto.ratioToStock.median)}`
        : 'not measured',
      met: auto ? auto.cpuRatioToStock.median <= 1 : null,
    })
    checks.push({
      target: `${databaseLabel(result.database)}: zero extra statements per clean release, reset 'auto'`,
      measured: auto ? `${auto.extraStatementsPer10k} per 10,000 releases` : 'not measured',
      met: auto ? auto.extraStatementsPer10k === 0 : null,
    })
  }
  const overhead = results.overhead
  const uncontended = overhead?.rows.find((r) => r.pool === 'kysely-pooled' && r.load === 'uncontended')
  checks.push({
    target: `Pool overhead ≤ ${OVERHEAD_TARGET_NS / 1000} µs per acquire + release pair (uncontended, fake connector)`,
    measured: uncontended
      ? `${(uncontended.nsPerPair.median / 1000).toFixed(2)} µs CPU, best round ${(uncontended.nsPerPair.min / 1000).toFixed(2)} µs (raw tarn ${(tarnNs(results, 'uncontended') / 1000).toFixed(2)} µs)`
      : 'not measured',
    met: uncontended ? uncontended.nsPerPair.median <= OVERHEAD_TARGET_NS : null,
  })
  const instructions = results.instructions
  const perPair = instructions?.perPair['kysely-pooled']
  checks.push({
    target: `Instructions per uncontended acquire + release pair (callgrind, loop included) ≤ ${INSTRUCTIONS_TARGET.toLocaleString('en-US')}: a regression bound free of timing noise`,
    measured:
      perPair === undefined
        ? `not measured${instructions?.skipped ? ` (${instructions.skipped})` : ''}`
        : `${perPair.toLocaleString('en-US')} (the pool's own ${instructions!.poolPerPair!.toLocaleString('en-US')}, the bare loop ${instructions!.perPair.bare!.toLocaleString('en-US')})`,
    met: perPair === undefined ? null : perPair <= INSTRUCTIONS_TARGET,
  })
  for (const dialect of ['postgres', 'mysql'] as const) {
    const sniff = instructions?.sniffPerStatement?.[dialect]
    const bound = Math.round(SNIFF_BEFORE[dialect] * SNIFF_BOUND)
    checks.push({
      target: `Session sniff (${dialect === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'}) per clean statement ≤ ${bound.toLocaleString('en-US')} instructions (within 20 % of the ${SNIFF_BEFORE[dialect].toLocaleString('en-US')} before issue 17)`,
      measured: sniff === undefined ? 'not measured' : sniff.toLocaleString('en-US'),
      met: sniff === undefined ? null : sniff <= bound,
    })
  }
  const contended = overhead?.rows.find((r) => r.pool === 'kysely-pooled' && r.load === 'contended')
  checks.push({
    target: 'Issue 2: ≤ raw tarn + 1 µs per pair with 1,000 waiters on max 10',
    measured: contended
      ? `${(contended.nsPerPair.median / 1000).toFixed(2)} µs CPU = tarn ${contended.differenceToTarnNs.median >= 0 ? '+' : '−'} ${(Math.abs(contended.differenceToTarnNs.median) / 1000).toFixed(2)} µs (${ratioText(contended.ratioToTarn.median)} tarn)`
      : 'not measured',
    met: contended ? contended.differenceToTarnNs.median <= 1000 : null,
  })
  for (const result of results.throughput) {
    const db = databaseLabel(result.database)
    const ours = row(result, 'kysely-pooled', TARGET_CONCURRENCY)
    const ceiling = row(result, 'kysely-ceiling', TARGET_CONCURRENCY)
    const vsStock = ours?.ratioToStock.median
    checks.push({
      target: `${db}: throughput ≥ 1.00× the stock Kysely dialect at concurrency ${TARGET_CONCURRENCY} (point select, hygiene on)`,
      measured:
        vsStock === undefined
          ? 'not measured'
          : `${vsStock.toFixed(2)}× (per-round ${ours!.ratioToStock.min.toFixed(2)}–${ours!.ratioToStock.max.toFixed(2)})`,
      met: vsStock === undefined ? null : vsStock >= 1,
    })
    if (ours && ceiling) {
      const paired = summarize(
        ours.opsPerSecond.samples.map((value, i) => value / (ceiling.opsPerSecond.samples[i] ?? Number.NaN)),
      )
      checks.push({
        target: `${db}: throughput ≥ 0.95× the Kysely no-pool ceiling at concurrency ${TARGET_CONCURRENCY}`,
        measured: `${paired.median.toFixed(2)}× (per-round ${paired.min.toFixed(2)}–${paired.max.toFixed(2)})`,
        met: paired.median >= 0.95,
      })
    }
  }
  checks.push(...pipelineTargets(results))
  return checks
}

/** Issue 18's targets for `pipeline: true` (PostgreSQL), as medians of same-round ratios. */
function pipelineTargets(results: Omit<BenchResults, 'targets'>): TargetCheck[] {
  const checks: TargetCheck[] = []
  const perRound = (a: readonly number[], b: readonly number[]) =>
    summarize(a.map((value, i) => value / (b[i] ?? Number.NaN)))
  for (const result of results.throughput) {
    if (!result.rows.some((r) => r.contender === 'kysely-pooled-pipeline')) continue
    const db = databaseLabel(result.database)
    const cells = [16, 64, 256].map((c) => ({ c, r: row(result, 'kysely-pooled-pipeline', c) }))
    const measured = cells.filter((cell) => cell.r !== undefined)
    checks.push({
      target: `${db}, pipeline: true: point-select throughput ≥ 1.50× the stock dialect at c = 16, 64, 256`,
      measured:
        measured.map((cell) => `c=${cell.c} ${ratioText(cell.r!.ratioToStock.median)}`).join(', ') || 'not measured',
      met: measured.length === 0 ? null : measured.every((cell) => cell.r!.ratioToStock.median >= 1.5),
    })
    checks.push({
      target: `${db}, pipeline: true: client CPU per point select ≤ 0.75× the stock dialect at c = 16, 64, 256`,
      measured:
        measured.map((cell) => `c=${cell.c} ${ratioText(cell.r!.cpuRatioToStock.median)}`).join(', ') || 'not measured',
      met: measured.length === 0 ? null : measured.every((cell) => cell.r!.cpuRatioToStock.median <= 0.75),
    })
    const pipelineOne = row(result, 'kysely-pooled-pipeline', 1)
    const exclusiveOne = row(result, 'kysely-pooled', 1)
    if (pipelineOne && exclusiveOne) {
      const paired = perRound(pipelineOne.opsPerSecond.samples, exclusiveOne.opsPerSecond.samples)
      checks.push({
        target: `${db}, pipeline: true: throughput at c = 1 ≥ 1.00× exclusive mode`,
        measured: `${ratioText(paired.median)} (per-round ${paired.min.toFixed(2)}–${paired.max.toFixed(2)})`,
        met: paired.median >= 1,
      })
    }
    const pipeline64 = row(result, 'kysely-pooled-pipeline', 64)
    const stock64 = row(result, 'stock', 64)
    if (pipeline64?.p99Millis && stock64?.p99Millis) {
      const paired = perRound(pipeline64.p99Millis.samples, stock64.p99Millis.samples)
      checks.push({
        target: `${db}, pipeline: true: p99 latency at c = 64 ≤ 1.00× the stock dialect's`,
        measured: `${pipeline64.p99Millis.median.toFixed(2)} ms vs ${stock64.p99Millis.median.toFixed(2)} ms: ${ratioText(paired.median)} (per-round ${paired.min.toFixed(2)}–${paired.max.toFixed(2)})`,
        met: paired.median <= 1,
      })
    }
  }
  for (const result of results.transactions) {
    const cells = result.concurrencies
      .map((c) => ({ c, p: row(result, 'kysely-pooled-pipeline', c), e: row(result, 'kysely-pooled', c) }))
      .filter((cell) => cell.p !== undefined && cell.e !== undefined)
    if (cells.length === 0) continue
    const ratios = cells.map((cell) => ({
      c: cell.c,
      ratio: perRound(cell.p!.opsPerSecond.samples, cell.e!.opsPerSecond.samples).median,
    }))
    checks.push({
      target: `${databaseLabel(result.database)}, pipeline: true: transaction throughput ≥ 1.00× exclusive mode`,
      measured: ratios.map((cell) => `c=${cell.c} ${ratioText(cell.ratio)}`).join(', '),
      met: ratios.every((cell) => cell.ratio >= 1),
    })
  }
  for (const result of results.headOfLine ?? []) {
    const pipeline = result.rows.find((r) => r.contender === 'kysely-pooled-pipeline')
    const exclusive = result.rows.find((r) => r.contender === 'kysely-pooled')
    if (!pipeline || !exclusive) continue
    checks.push({
      target: `${databaseLabel(result.database)}, pipeline: true: with 1 % of statements taking ${result.slowMillis} ms, p99 of the fast ones ≤ 1.50× exclusive mode's`,
      measured: `${pipeline.fastP99Millis.median.toFixed(2)} ms vs ${exclusive.fastP99Millis.median.toFixed(2)} ms: ${ratioText(pipeline.ratioToExclusive.median)} (per-round ${pipeline.ratioToExclusive.min.toFixed(2)}–${pipeline.ratioToExclusive.max.toFixed(2)})`,
      met: pipeline.ratioToExclusive.median <= 1.5,
    })
  }
  return checks
}

function row(result: ThroughputResult, contender: ContenderId, concurrency: number) {
  return result.rows.find((r) => r.contender === contender && r.concurrency === concurrency)
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
