import { describe, expect, it } from 'vitest'
import { SessionStateError } from '../../src/index.js'
import { refuseQuery, statementText, TransactionPoolerGuard } from '../../src/pooler/transaction-pooler-guard.js'

describe('TransactionPoolerGuard', () => {
  const guard = new TransactionPoolerGuard(false)

  it('passes what leaves no session state, refuses what does, with the kind and the alternative', () => {
    expect(guard.check('SELECT 1', false)).toBeUndefined()
    expect(guard.check({ text: 'SET LOCAL x.y = 1' }, true)).toBeUndefined()
    const error = guard.check({ text: "SET search_path = 'tenant_42'" }, false)
    expect(error).toBeInstanceOf(SessionStateError)
    expect(error).toMatchObject({
      code: 'POOL_SESSION_STATE',
      kind: 'SET',
      inTransaction: false,
      statement: "set search_path = '…'",
    })
    expect(error!.message).toBe(
      "pooler 'transaction': refused before sending SET (set search_path = '…'): it would leave session state on a server connection " +
        'the pooler hands to other clients (outside a transaction). Instead: ' +
        'use SET LOCAL (or set_config(name, value, true)) inside a transaction; a setting every session needs belongs on the role or database (ALTER ROLE … SET …) or in the pooler’s connect_query.',
    )
    expect(error!.message).not.toContain('tenant_42')
  })

  it('says when the statement was refused inside a transaction', () => {
    expect(guard.check('SELECT pg_advisory_lock(1)', true)!.message).toContain(
      'inside a transaction, but it outlives it',
    )
  })

  it('refuses named statements unless the pooler tracks them', () => {
    const named = { name: 'by-id', text: 'SELECT $1::int', values: [1] }
    expect(guard.check(named, false)).toMatchObject({ kind: 'named prepared statement', statement: "name 'by-id'" })
    expect(guard.check(named, false)!.message).toContain('max_prepared_statements')
    expect(new TransactionPoolerGuard(true).check(named, false)).toBeUndefined()
    // …and the text of a named statement is still checked.
    expect(new TransactionPoolerGuard(true).check({ name: 'x', text: 'LISTEN x' }, false)).toMatchObject({
      kind: 'LISTEN',
    })
  })

  it('returns the same verdict for a text seen before, and keeps working past its cache limit', () => {
    const many = new TransactionPoolerGuard(false)
    for (let i = 0; i < 1_200; i++) expect(many.check(`SELECT ${i}`, false)).toBeUndefined()
    expect(many.check('LISTEN a', false)?.kind).toBe('LISTEN')
    expect(many.check('LISTEN a', false)?.kind).toBe('LISTEN')
  })

  it('leaves statements it cannot read to the connector (which then treats the session as changed)', () => {
    expect(guard.check({ submit: () => {} }, false)).toBeUndefined()
    expect(guard.check(42, false)).toBeUndefined()
  })
})

describe('statementText', () => {
  it('reads a string, a config, a Submittable and a pg-cursor', () => {
    expect(statementText('SELECT 1')).toBe('SELECT 1')
    expect(statementText({ text: 'SELECT 2' })).toBe('SELECT 2')
    expect(statementText({ cursor: { text: 'SELECT 3' } })).toBe('SELECT 3')
    expect(statementText({ submit() {} })).toBeUndefined()
    expect(statementText(null)).toBeUndefined()
  })
})

describe('refuseQuery', () => {
  const error = new Error('refused')

  it('rejects the promise of client.query(text[, values])', async () => {
    await expect(refuseQuery(error, 'SET x = 1', undefined, undefined, {})).rejects.toBe(error)
    await expect(refuseQuery(error, 'SET x = 1', [1], undefined, {})).rejects.toBe(error)
  })

  it('calls a callback given in the values position, the callback position, or the config, on a later tick', async () => {
    for (const call of [
      (cb: (e: Error) => void) => refuseQuery(error, 'SET x', cb, undefined, {}),
      (cb: (e: Error) => void) => refuseQuery(error, 'SET x', [], cb, {}),
      (cb: (e: Error) => void) => refuseQuery(error, { text: 'SET x', callback: cb }, undefined, undefined, {}),
    ]) {
      let called = false
      const got = new Promise<Error>((resolve) => {
        expect(call((e) => ((called = true), resolve(e)))).toBeUndefined()
        expect(called).toBe(false) // never synchronously, like pg
      })
      expect(await got).toBe(error)
    }
  })

  it('hands a Submittable the error through handleError, as pg does when it cannot send', async () => {
    const connection = {}
    const got = new Promise<[Error, unknown]>((resolve) => {
      const submittable = { text: 'SET x', submit() {}, handleError: (e: Error, c: unknown) => resolve([e, c]) }
      expect(refuseQuery(error, submittable, undefined, undefined, connection)).toBe(submittable)
    })
    expect(await got).toEqual([error, connection])
  })
})
