import { describe, expect, it } from 'vitest'
import { renderTable } from '../src/demo/table.js'
import { Gauge, Terminal } from '../src/demo/terminal.js'
import { formatMillis } from '../src/demo/timing.js'
import { ANSI, captureStream } from './capture.js'

describe('demo terminal', () => {
  it.each([
    { name: 'a pipe', tty: false, env: {}, colour: false, live: false },
    { name: 'a terminal', tty: true, env: {}, colour: true, live: true },
    { name: 'a terminal with NO_COLOR', tty: true, env: { NO_COLOR: '1' }, colour: false, live: true },
    { name: 'a dumb terminal', tty: true, env: { TERM: 'dumb' }, colour: false, live: false },
  ])('$name: colour $colour, live gauges $live', ({ tty, env, colour, live }) => {
    const out = captureStream(tty)
    const term = new Terminal(out, env)
    expect(term.colour).toBe(colour)
    expect(term.live).toBe(live)
    term.line(term.green('ok'))
    expect(ANSI.test(out.text)).toBe(colour)
  })

  it('redraws a gauge in place on a terminal', () => {
    const out = captureStream(true)
    const gauge = new Gauge(new Terminal(out, { NO_COLOR: '1' }))
    gauge.update('size 1/4')
    gauge.update('size 4/4')
    gauge.done('done')
    expect(out.text).toBe('\rsize 1/4\u001b[K\rsize 4/4\u001b[K\rdone\u001b[K\n')
  })

  it('prints a gauge as throttled plain lines elsewhere', async () => {
    const out = captureStream(false)
    const gauge = new Gauge(new Terminal(out, {}), 30)
    gauge.update('first, too early')
    await new Promise((resolve) => setTimeout(resolve, 40))
    gauge.update('second')
    gauge.update('third, throttled')
    gauge.done()
    expect(out.text).toBe('second\nthird, throttled\n')
    expect(out.text).not.toMatch(ANSI)
  })

  it('renders a table with numbers right-aligned', () => {
    const lines = renderTable(
      [
        { pool: 'pg/burst', acquires: 536 },
        { pool: 'mysql/session', acquires: 2 },
      ],
      [
        { header: 'pool', value: (r) => r.pool },
        { header: 'acquires', value: (r) => r.acquires },
      ],
      '  ',
    )
    expect(lines).toEqual([
      '  pool           acquires',
      '  -------------  --------',
      '  pg/burst            536',
      '  mysql/session         2',
    ])
  })

  it('formats milliseconds to about three figures', () => {
    expect([0.123, 3.456, 9.999, 12.34, 99.96, 123.4].map(formatMillis)).toEqual([
      '0.12 ms',
      '3.46 ms',
      '10.0 ms',
      '12.3 ms',
      '100 ms',
      '123 ms',
    ])
  })
})
