import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Pool, PoolOptions } from '@kysely-pooled/core'
import { PoolError } from '@kysely-pooled/core'
import { sql, type Kysely } from 'kysely'
import type { ExampleDatabase } from '../shared/databases.js'
import { createPooledKysely } from '../shared/dialect.js'
import { createTodoTable, type TodoDB } from './schema.js'

export interface Todo {
  readonly id: number
  readonly title: string
  readonly done: boolean
}

export interface TodoAppOptions {
  readonly database: ExampleDatabase
  /**
   * A web server: size the pool for the queries it runs at once, not for
   * its users (see recommendPoolSize). A short acquire timeout turns an
   * overloaded database into quick 503s instead of a pile-up.
   */
  readonly pool?: PoolOptions
}

/**
 * A small JSON API over a typed schema:
 *
 *   GET   /todos            list (add ?wait=ms to make the query sleep first: a slow request to watch shutdown finish)
 *   POST  /todos            {"title": "…"} → 201 and the todo
 *   PATCH /todos/:id        {"done": true} → the todo
 *   GET   /health           pool figures
 *
 * `shutdown()` is the graceful stop: no new connections, in-flight requests
 * finish, then the pool drains and closes.
 */
export class TodoApp {
  readonly db: Kysely<TodoDB>
  readonly pool: Pool<unknown>
  readonly server: Server
  readonly #database: ExampleDatabase
  #inFlight = 0
  #shuttingDown: Promise<void> | undefined

  constructor(options: TodoAppOptions) {
    this.#database = options.database
    const pooled = createPooledKysely<TodoDB>(options.database, {
      max: 5,
      acquireTimeoutMillis: 2_000,
      name: 'todo-app',
      ...options.pool,
    })
    this.db = pooled.db
    this.pool = pooled.pool
    this.server = createServer((request, response) => void this.#handle(request, response))
  }

  /** Requests being handled now. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** Creates the table if needed and listens; resolves the port (pass 0 for any free one). */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await createTodoTable(this.db, this.#database.dialect)
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    return (this.server.address() as AddressInfo).port
  }

  /** Stops accepting, lets in-flight requests finish, then closes the pool. Safe to call twice. */
  shutdown(): Promise<void> {
    this.#shuttingDown ??= (async () => {
      // close() stops accepting at once and resolves when every connection
      // has ended; idle keep-alive sockets are closed so it does not hang.
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
      this.server.closeIdleConnections()
      await closed
      // Every request has been answered: nothing holds a connection now, so
      // destroy() closes them at once (it would revoke stragglers after its grace period).
      await this.db.destroy()
    })()
    return this.#shuttingDown
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.#inFlight++
    // A request that finishes during shutdown closes its keep-alive socket:
    // server.close() waits for every socket, not just every request.
    const send = (status: number, body: unknown): void => {
      if (this.#shuttingDown) response.setHeader('connection', 'close')
      sendJson(response, status, body)
    }
    try {
      const url = new URL(request.url ?? '/', 'http://localhost')
      const route = `${request.method} ${url.pathname.replace(/\/\d+$/, '/:id')}`
      switch (route) {
        case 'GET /todos':
          return send(200, await this.#list(Number(url.searchParams.get('wait') ?? 0)))
        case 'POST /todos':
          return send(201, await this.#create(await readJson(request)))
        case 'PATCH /todos/:id':
          return send(200, await this.#update(Number(url.pathname.split('/').pop()), await readJson(request)))
        case 'GET /health':
          return send(200, { ok: true, pool: pickStats(this.pool) })
        default:
          return send(404, { error: 'not found' })
      }
    } catch (error) {
      if (error instanceof HttpError) return send(error.status, { error: error.message })
      // Pool exhausted or closed: the client may retry later; say so instead of a bare 500.
      if (error instanceof PoolError) return send(503, { error: error.code })
      return send(500, { error: 'internal error' })
    } finally {
      this.#inFlight--
    }
  }

  async #list(waitMillis: number): Promise<Todo[]> {
    if (waitMillis > 0) {
      const seconds = sql.lit(Math.min(waitMillis, 5_000) / 1000)
      await (
        this.#database.dialect === 'postgres' ? sql`select pg_sleep(${seconds})` : sql`select sleep(${seconds})`
      ).execute(this.db)
    }
    const rows = await this.db.selectFrom('kp_ex_todos').select(['id', 'title', 'done']).orderBy('id').execute()
    return rows.map(toTodo)
  }

  async #create(body: unknown): Promise<Todo> {
    const title = (body as { title?: unknown } | null)?.title
    if (typeof title !== 'string' || title.trim() === '' || title.length > 200) {
      throw new HttpError(400, 'title must be a non-empty string of at most 200 characters')
    }
    // One transaction: insert and read back on the same connection (MySQL has no RETURNING).
    return this.db.transaction().execute(async (trx) => {
      const result = await trx.insertInto('kp_ex_todos').values({ title: title.trim() }).executeTakeFirstOrThrow()
      const id =
        result.insertId !== undefined
          ? Number(result.insertId)
          : Number((await sql<{ id: number }>`select lastval() as id`.execute(trx)).rows[0]!.id)
      return toTodo(
        await trx
          .selectFrom('kp_ex_todos')
          .select(['id', 'title', 'done'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow(),
      )
    })
  }

  async #update(id: number, body: unknown): Promise<Todo> {
    const done = (body as { done?: unknown } | null)?.done
    if (typeof done !== 'boolean') throw new HttpError(400, 'done must be true or false')
    const result = await this.db.updateTable('kp_ex_todos').set({ done }).where('id', '=', id).executeTakeFirst()
    if (Number(result.numUpdatedRows) === 0) throw new HttpError(404, `no todo ${id}`)
    return toTodo(
      await this.db
        .selectFrom('kp_ex_todos')
        .select(['id', 'title', 'done'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow(),
    )
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

function toTodo(row: { id: number; title: string; done: boolean | 0 | 1 }): Todo {
  return { id: Number(row.id), title: row.title, done: Boolean(row.done) }
}

function pickStats(pool: Pool<unknown>) {
  const s = pool.stats()
  return {
    size: s.size,
    idle: s.idle,
    used: s.used,
    pending: s.pending,
    max: s.max,
    acquires: s.acquires,
    timeouts: s.timeouts,
  }
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  let text = ''
  for await (const chunk of request) {
    text += chunk
    if (text.length > 64_000) throw new HttpError(413, 'body too large')
  }
  try {
    return text === '' ? null : JSON.parse(text)
  } catch {
    throw new HttpError(400, 'body must be JSON')
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  response.end(text)
}
