import type { ContenderId } from '../contenders/contender.js'
import type { ThroughputResult } from '../scenarios/throughput.js'
import { databaseLabel } from '../targets.js'
import { compact, escapeXml } from './format.js'

const COLORS: Record<ContenderId, string> = {
  'kysely-pooled': '#d62728',
  'kysely-pooled-pipeline': '#9467bd',
  stock: '#1f77b4',
  'postgres-js': '#8c564b',
  knex: '#ff7f0e',
  'kysely-ceiling': '#2ca02c',
  'raw-ceiling': '#7f7f7f',
}

const PANEL_WIDTH = 460
const PANEL_HEIGHT = 320
const MARGIN = { top: 52, right: 20, bottom: 50, left: 70 }
const LEGEND_HEIGHT = 70

/**
 * Throughput against concurrency, one panel per database, hand-written SVG
 * (no dependencies). Points are medians; the vertical whiskers are the
 * min–max over rounds. Concurrency is spaced evenly (it grows 4× per step).
 */
export function throughputChart(results: readonly ThroughputResult[], title: string): string {
  const width = Math.max(1, results.length) * PANEL_WIDTH
  const height = PANEL_HEIGHT + LEGEND_HEIGHT
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ]
  results.forEach((result, index) => parts.push(panel(result, index * PANEL_WIDTH)))
  parts.push(legend(results, height - LEGEND_HEIGHT + 10, width))
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}

function panel(result: ThroughputResult, offsetX: number): string {
  const plotWidth = PANEL_WIDTH - MARGIN.left - MARGIN.right
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom
  const left = offsetX + MARGIN.left
  const top = MARGIN.top
  const concurrencies = result.concurrencies
  const yMax = niceCeiling(Math.max(1, ...result.rows.map((r) => r.opsPerSecond.max).filter(Number.isFinite)))
  const x = (i: number) =>
    left + (concurrencies.length === 1 ? plotWidth / 2 : (i * plotWidth) / (concurrencies.length - 1))
  const y = (value: number) => top + plotHeight - (value / yMax) * plotHeight
  const out: string[] = []
  out.push(
    `<text x="${left + plotWidth / 2}" y="${top - 10}" text-anchor="middle" font-weight="bold">${escapeXml(
      `${databaseLabel(result.database)}: ${result.operation === 'point-select' ? 'point selects' : 'transactions'}/s, pool max ${result.poolMax}`,
    )}</text>`,
  )
  for (let tick = 0; tick <= 5; tick++) {
    const value = (yMax * tick) / 5
    const ty = y(value)
    out.push(`<line x1="${left}" y1="${ty}" x2="${left + plotWidth}" y2="${ty}" stroke="#e5e5e5"/>`)
    out.push(`<text x="${left - 6}" y="${ty + 4}" text-anchor="end" fill="#444">${compact(value)}</text>`)
  }
  concurrencies.forEach((c, i) => {
    out.push(`<text x="${x(i)}" y="${top + plotHeight + 18}" text-anchor="middle" fill="#444">${c}</text>`)
  })
  out.push(
    `<text x="${left + plotWidth / 2}" y="${top + plotHeight + 38}" text-anchor="middle" fill="#444">concurrent callers</text>`,
  )
  out.push(
    `<text transform="translate(${offsetX + 16} ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle" fill="#444">operations per second</text>`,
  )
  out.push(
    `<line x1="${left}" y1="${top + plotHeight}" x2="${left + plotWidth}" y2="${top + plotHeight}" stroke="#888"/>`,
  )
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}" stroke="#888"/>`)

  for (const contender of contendersOf(result)) {
    const color = COLORS[contender]
    const rows = concurrencies.map((c) => result.rows.find((r) => r.contender === contender && r.concurrency === c))
    const ours = contender === 'kysely-pooled'
    const dashed = contender === 'kysely-ceiling' || contender === 'raw-ceiling'
    const points = rows
      .map((r, i) =>
        r && Number.isFinite(r.opsPerSecond.median) ? `${x(i).toFixed(1)},${y(r.opsPerSecond.median).toFixed(1)}` : '',
      )
      .filter((p) => p.length > 0)
    out.push(
      `<polyline points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="${ours ? 3 : 1.8}"${dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    )
    rows.forEach((r, i) => {
      if (!r || !Number.isFinite(r.opsPerSecond.median)) return
      const px = x(i) + offsetFor(contender)
      out.push(
        `<line x1="${px}" y1="${y(r.opsPerSecond.min)}" x2="${px}" y2="${y(r.opsPerSecond.max)}" stroke="${color}" stroke-width="1" opacity="0.6"/>`,
      )
      out.push(`<circle cx="${x(i)}" cy="${y(r.opsPerSecond.median)}" r="${ours ? 4 : 3}" fill="${color}"/>`)
    })
  }
  return `<g>\n${out.join('\n')}\n</g>`
}

function legend(results: readonly ThroughputResult[], top: number, width: number): string {
  const first = results[0]
  if (!first) return ''
  const entries = contendersOf(first).map((id) => ({
    id,
    label: first.rows.find((r) => r.contender === id)?.label ?? id,
  }))
  const columns = 3
  const columnWidth = width / columns
  return entries
    .map((entry, i) => {
      const lx = 20 + (i % columns) * columnWidth
      const ly = top + Math.floor(i / columns) * 20
      const dashed = entry.id === 'kysely-ceiling' || entry.id === 'raw-ceiling'
      const label = results.length > 1 ? genericLabel(entry.id, entry.label) : entry.label
      return (
        `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${COLORS[entry.id]}" stroke-width="${entry.id === 'kysely-pooled' ? 3 : 1.8}"${dashed ? ' stroke-dasharray="6 4"' : ''}/>` +
        `<text x="${lx + 30}" y="${ly + 4}">${escapeXml(label)}</text>`
      )
    })
    .join('\n')
}

/** One legend for both panels: names that fit either database. */
function genericLabel(id: ContenderId, label: string): string {
  switch (id) {
    case 'kysely-pooled':
      return 'kysely-pooled (hygiene on, reset auto)'
    case 'stock':
      return 'stock Kysely dialect + driver pool'
    case 'raw-ceiling':
      return 'ceiling: raw driver, no pool'
    default:
      return label
  }
}

function contendersOf(result: ThroughputResult): ContenderId[] {
  return [...new Set(result.rows.map((r) => r.contender))]
}

function offsetFor(contender: ContenderId): number {
  const order: ContenderId[] = [
    'raw-ceiling',
    'kysely-ceiling',
    'kysely-pooled-pipeline',
    'kysely-pooled',
    'stock',
    'postgres-js',
    'knex',
  ]
  return (order.indexOf(contender) - 3) * 3
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (step * magnitude >= value) return step * magnitude
  }
  return 10 * magnitude
}
