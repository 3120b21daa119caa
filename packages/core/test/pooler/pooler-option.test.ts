import { describe, expect, it } from 'vitest'
import { PoolConfigError, postgresConnector, resolvePooler } from '../../src/index.js'

describe('the pooler option', () => {
  it("defaults to 'none' and takes a mode or { mode, preparedStatements }", () => {
    expect(resolvePooler(undefined)).toEqual({ mode: 'none', preparedStatements: false })
    expect(resolvePooler('transaction')).toEqual({ mode: 'transaction', preparedStatements: false })
    expect(resolvePooler({ mode: 'transaction', preparedStatements: true })).toEqual({
      mode: 'transaction',
      preparedStatements: true,
    })
    expect(Object.isFrozen(resolvePooler('session'))).toBe(true)
  })

  it.each([
    ['transactions', /got 'transactions'/],
    [{ mode: 'statement' }, /pooler.mode must be/],
    [{ mode: 'transaction', preparedStatements: 'yes' }, /preparedStatements must be a boolean/],
    [{ mode: 'transaction', prepared: true }, /unknown key\(s\) "prepared"/],
    [null, /got null/],
    [42, /got number/],
  ])('refuses %j at construction with a PoolConfigError saying why', (value, message) => {
    const make = () => postgresConnector('postgres://u:secret-pw@127.0.0.1/db', { pooler: value as never })
    expect(make).toThrow(PoolConfigError)
    expect(make).toThrow(message)
  })
})
