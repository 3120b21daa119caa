import { EventEmitter } from 'node:events'
import { testDatabases } from '@kysely-pooled/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { databaseAt } from '../src/shared/databases.js'
import { dropTodoTable } from '../src/typed-app/schema.js'
import { shutdownOnSignals } from '../src/typed-app/shutdown-on-signals.js'
import { TodoApp } from '../src/typed-app/todo-app.js'

describe.each(testDatabases())('typed-app on $dialect', ({ dialect, url }) => {
  const database = databaseAt(dialect, url)
  let app: TodoApp
  let base: string

  beforeAll(async () => {
    app = new TodoApp({ database, pool: { max: 3 } })
    await dropTodoTable(app.db)
    base = `http://127.0.0.1:${await app.listen(0)}`
  })

  afterAll(async () => {
    // The shutdown test closed the app's pool; clean up through a fresh one.
    const cleanup = new TodoApp({ database, pool: { max: 1 } })
    await dropTodoTable(cleanup.db)
    await cleanup.shutdown()
    await app.shutdown()
  })

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: response.status, body: (await response.json()) as unknown }
  }

  it('creates, lists and updates todos as typed JSON', async () => {
    const created = await call('POST', '/todos', { title: 'write the demo' })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ title: 'write the demo', done: false })
    const id = (created.body as { id: number }).id
    expect(Number.isInteger(id)).toBe(true)

    await call('POST', '/todos', { title: 'ship it' })
    const updated = await call('PATCH', `/todos/${id}`, { done: true })
    expect(updated).toEqual({ status: 200, body: { id, title: 'write the demo', done: true } })

    const list = await call('GET', '/todos')
    expect(list.status).toBe(200)
    expect(list.body).toEqual([
      { id, title: 'write the demo', done: true },
      { id: expect.any(Number), title: 'ship it', done: false },
    ])
  })

  it('answers bad input with 400 and unknown ids with 404', async () => {
    expect((await call('POST', '/todos', { title: '' })).status).toBe(400)
    expect((await call('PATCH', '/todos/999999', { done: true })).status).toBe(404)
    expect((await call('GET', '/nowhere')).status).toBe(404)
  })

  it('on SIGTERM stops accepting, finishes the request in flight, and closes the pool', async () => {
    const signals = new EventEmitter()
    const log: string[] = []
    const stopped = shutdownOnSignals(app, signals, (line) => log.push(line))
    const slow = call('GET', '/todos?wait=300')
    await waitFor(() => app.inFlight === 1)
    signals.emit('SIGTERM')

    // New connections are refused at once…
    await expect(fetch(`${base}/health`)).rejects.toThrow()
    // …while the request already in flight completes normally.
    const answer = await slow
    expect(answer.status).toBe(200)
    expect(Array.isArray(answer.body)).toBe(true)

    await stopped
    expect(log).toEqual(['SIGTERM: finishing 1 request(s) in flight, then closing the pool', 'stopped cleanly'])
    expect(app.server.listening).toBe(false)
    expect(app.pool.closed).toBe(true)
    expect(app.pool.stats().size).toBe(0)
  })
})

async function waitFor(condition: () => boolean, timeoutMillis = 2_000): Promise<void> {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMillis) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
