import { describe, expect, it } from 'vitest'
import { PoolSizingError, recommendPoolSize, type PoolSizeInput } from '../../src/sizing/recommend-pool-size.js'

function refusal(input: PoolSizeInput): PoolSizingError {
  try {
    recommendPoolSize(input)
  } catch (error) {
    expect(error).toBeInstanceOf(PoolSizingError)
    return error as PoolSizingError
  }
  throw new Error('expected a PoolSizingError')
}

describe('recommendPoolSize: which server-side pooler to advise', () => {
  const tooMany = { serverMaxConnections: 100, processes: 200, headroomRatio: 0 }

  it('PostgreSQL: PgBouncer in transaction mode', () => {
    const { message } = refusal({ ...tooMany, database: 'postgres' })
    expect(message).toContain('PgBouncer in transaction mode')
    expect(message).not.toContain('ProxySQL')
  })

  it('MySQL / MariaDB: ProxySQL, never PgBouncer', () => {
    const { message } = refusal({ ...tooMany, database: 'mysql' })
    expect(message).toContain('ProxySQL')
    expect(message).not.toContain('PgBouncer')
  })

  it('unknown server: names both, each with its database', () => {
    expect(refusal(tooMany).message).toContain('PgBouncer for PostgreSQL, ProxySQL for MySQL/MariaDB')
  })

  it('refuses a database it does not know', () => {
    expect(refusal({ serverMaxConnections: 10, database: 'oracle' as 'mysql' }).problems).toEqual([
      `database must be 'postgres' or 'mysql', got "oracle"`,
    ])
  })
})

describe('recommendPoolSize behind a transaction-mode pooler: two budgets', () => {
  it('sizes the pools against max_client_conn and checks the pool size against the server budget', () => {
    const r = recommendPoolSize({
      serverMaxConnections: 100,
      reservedConnections: 3,
      processes: 8,
      hosts: 4,
      database: 'postgres',
      pooler: { poolSize: 20, maxClientConnections: 1000 },
    })
    // server side: 97 - ceil(9.7) = 87 >= 20. client side: 1000 - 100 = 900; floor(900 / 32) = 28, capped at 20.
    expect(r.pooler).toEqual({ serverBudget: 87, poolSize: 20, maxClientConnections: 1000 })
    expect(r).toMatchObject({ budget: 900, max: 20, total: 640, processes: 32 })
    const text = r.arithmetic.join('\n')
    expect(text).toContain('server side (the pooler → the server):')
    expect(text).toMatch(/= budget for the server side\s+87/)
    expect(text).toContain('pooler pool size 20 <= 87')
    expect(text).toContain('client side (your processes → the pooler):')
    expect(text).toMatch(/pooler max_client_conn\s+1000/)
    expect(text).toMatch(/= budget for the clients\s+900/)
    expect(text).toContain("capped at the pooler's pool size 20")
  })

  it("uses PgBouncer's default max_client_conn of 100 when none is given", () => {
    const r = recommendPoolSize({
      serverMaxConnections: 100,
      processes: 10,
      pooler: { poolSize: 20 },
      headroomRatio: 0,
    })
    expect(r).toMatchObject({ budget: 100, max: 10, total: 100 })
    expect(r.pooler?.maxClientConnections).toBe(100)
  })

  it('more processes than the server could take directly fit behind the pooler', () => {
    const input = { serverMaxConnections: 100, processes: 60, hosts: 3, headroomRatio: 0 }
    expect(() => recommendPoolSize(input)).toThrow(PoolSizingError)
    expect(recommendPoolSize({ ...input, pooler: { poolSize: 50, maxClientConnections: 2000 } }).max).toBe(11)
  })

  it('refuses a pool size above the server budget', () => {
    const { message } = refusal({ serverMaxConnections: 50, reservedConnections: 3, pooler: { poolSize: 60 } })
    expect(message).toMatch(
      /pool size 60 .* above the server budget of 42 \(max_connections 50 - reserved 3 - headroom 5\)/,
    )
  })

  it('refuses when max_client_conn cannot give each process one client connection', () => {
    const { message } = refusal({
      serverMaxConnections: 100,
      processes: 150,
      pooler: { poolSize: 10, maxClientConnections: 100 },
    })
    expect(message).toMatch(
      /client budget of 90 connections \(max_client_conn 100 - headroom 10\) cannot give each of 150 pools/,
    )
    expect(message).toContain('raise max_client_conn')
  })

  it('refuses pooler sizing for MySQL, pointing at ProxySQL', () => {
    expect(refusal({ serverMaxConnections: 100, database: 'mysql', pooler: { poolSize: 10 } }).message).toMatch(
      /ProxySQL/,
    )
  })

  it('reports bad pooler fields with the rest, at once', () => {
    expect(refusal({ serverMaxConnections: 0, pooler: { poolSize: 0, maxClientConnections: 1.5 } }).problems).toEqual([
      'serverMaxConnections must be an integer >= 1, got 0',
      'pooler.poolSize must be an integer >= 1, got 0',
      'pooler.maxClientConnections must be an integer >= 1, got 1.5',
    ])
  })
})
