/** 12345.6 → "12,346" */
export function integer(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–'
}

/** 12345 → "12.3k", 950 → "950" */
export function compact(value: number): string {
  if (!Number.isFinite(value)) return '–'
  if (Math.abs(value) >= 10_000) return `${(value / 1000).toFixed(1)}k`
  if (Math.abs(value) >= 1_000) return `${(value / 1000).toFixed(2)}k`
  return value.toFixed(0)
}

export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–'
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '–'
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

export function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|')
}
