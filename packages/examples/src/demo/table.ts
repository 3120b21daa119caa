export type Align = 'left' | 'right'

export interface Column<Row> {
  readonly header: string
  readonly value: (row: Row) => string | number
  readonly align?: Align
}

/**
 * Renders rows as a plain-text table: a header, a rule, one line per row.
 * Numbers align right by default. No box-drawing characters: it reads the
 * same in a terminal, a log file and a README.
 */
export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], indent = ''): string[] {
  const cells = rows.map((row) => columns.map((column) => String(column.value(row))))
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((r) => r[i]!.length)))
  const aligns = columns.map(
    (column) => column.align ?? (rows.length > 0 && typeof column.value(rows[0]!) === 'number' ? 'right' : 'left'),
  )
  const format = (values: readonly string[]): string =>
    indent +
    values
      .map((value, i) => (aligns[i] === 'right' ? value.padStart(widths[i]!) : value.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [
    format(columns.map((c) => c.header)),
    indent + widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map(format),
  ]
}
