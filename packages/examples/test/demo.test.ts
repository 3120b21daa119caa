import { testDatabases } from '@kysely-pooled/core/testing'
import { describe, expect, it } from 'vitest'
import { runDemo } from '../src/demo/run-demo.js'
import { databaseAt } from '../src/shared/databases.js'
import { ANSI, captureStream } from './capture.js'

const [pg, mysql] = testDatabases().map((d) => databaseAt(d.dialect, d.url))
const SECRET = 'kp-Demo-Secret-8080'

describe('pnpm demo', () => {
  it('runs every step on both databases, plain text when not a terminal, and exits 0', async () => {
    const out = captureStream(false)
    const code = await runDemo({ databases: [pg!, mysql!], out, env: {}, speed: 3 })
    const text = out.text
    expect(code, text).toBe(0)
    expect(text).not.toMatch(ANSI)
    expect(text).not.toMatch(/\n\s+at /) // no stack traces

    for (const heading of ['1. Why pool', '2. Typed queries', '3. A burst', '4. Release hygiene', '5. Summary']) {
      expect(text).toContain(heading)
    }
    for (const label of ['PostgreSQL', 'MySQL']) {
      // 1: both timings, and a ratio
      expect(text).toMatch(
        new RegExp(`${label}\\s+new connection\\s+[\\d.]+ ms/query\\s+pooled\\s+[\\d.]+ ms/query\\s+\\d+× less`),
      )
      // 2: the typed join
      expect(text).toMatch(
        new RegExp(
          `${label}\\s+3 users, 5 orders in one transaction; revenue: Ada 72.50 \\(2\\), Edsger 31.00 \\(2\\), Grace 9.99 \\(1\\)`,
        ),
      )
      // 3: every simulated user served, no timeouts
      expect(text).toMatch(
        new RegExp(`${label}\\s+\\d+ requests in [\\d.]+ s .* on 4 connections; every caller served.*, 0 timeouts`),
      )
      // 4: the proofs
      expect(text).toMatch(
        new RegExp(
          `${label}\\s+transaction left open: rows inside it 1, .* rows visible now 0; the abandoned handle throws LeaseRevokedError \\(revoked 1\\)`,
        ),
      )
      expect(text).toMatch(
        new RegExp(
          `${label}\\s+handed back inside BEGIN with 1 row; next borrower \\(the same connection, #\\d+\\) sees 0 rows \\(rolledBackOnRelease 1\\)`,
        ),
      )
      expect(text).toMatch(
        new RegExp(
          `${label}\\s+borrower 1 sets tenant = 'acme'; borrower 2 \\(the same connection, #\\d+\\) reads tenant = \\(unset\\) \\(resetOnRelease 1\\)`,
        ),
      )
    }
    // 3: the exhaustion policy, with the errors' own messages
    expect(text.match(/waited [\d.]+ ms for a connection, then ran: served/g)).toHaveLength(2)
    expect(
      text.match(
        /PoolQueueFullError: pool "\w+\/policy": all 2 connections are leased and 1 callers are already waiting/g,
      ),
    ).toHaveLength(2)
    expect(text.match(/PoolTimeoutError: pool "\w+\/policy": no connection after \d+ ms .* Holders:/g)).toHaveLength(2)
    expect(text).toMatch(/lease #\d+ held \d+ ms, transaction in-transaction/)
    // 5: one summary row per pool
    expect(text.match(/^ {2}(postgres|mysql)\/\S+\s+\d+/gm)).toHaveLength(14)
    expect(text).toMatch(/postgres\/policy\s+2\s+2\s+\d+\s+\d+ ms\s+1\s+1/)
    expect(text).toContain('tables kp_demo_* dropped')
  })

  it('explains an unreachable database in one paragraph, without its password, and goes on with the other', async () => {
    const unreachable = databaseAt('postgres', `postgres://someone:${SECRET}@127.0.0.1:1/test`)
    const out = captureStream(false)
    const code = await runDemo({ databases: [unreachable, mysql!], out, env: {}, speed: 4 })
    expect(code, out.text).toBe(0)
    expect(out.text).toContain(
      'PostgreSQL is not reachable at postgres://someone@127.0.0.1:1/test (connection refused). Start one with `docker run',
    )
    expect(out.text).toContain('or set PG_URL to your server')
    expect(out.text).toContain('Continuing with MySQL.')
    expect(out.text).toMatch(/MySQL\s+borrower 1 sets tenant/)
    expect(out.text).not.toMatch(/PostgreSQL\s+new connection/)
    expect(out.text).not.toContain(SECRET)
  })

  it('exits 1 with the how-to when no database is reachable', async () => {
    const out = captureStream(false)
    const code = await runDemo({
      databases: [
        databaseAt('postgres', `postgres://someone:${SECRET}@127.0.0.1:1/test`),
        databaseAt('mysql', `mysql://someone:${SECRET}@127.0.0.1:1/test`),
      ],
      out,
      env: {},
    })
    expect(code).toBe(1)
    expect(out.text).toContain('PostgreSQL is not reachable')
    expect(out.text).toContain('MySQL is not reachable at mysql://someone@127.0.0.1:1/test (connection refused)')
    expect(out.text).toContain('or set MYSQL_URL')
    expect(out.text).toContain('No database to run against')
    expect(out.text).not.toContain(SECRET)
    expect(out.text).not.toMatch(/\n\s+at /)
  })
})
