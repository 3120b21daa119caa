import type mysql from 'mysql2'
import type pg from 'pg'
import {
  CompiledQuery,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from 'kysely'
import {
  closeMysqlConnections,
  closePostgresClients,
  mysqlQuery,
  openMysqlConnections,
  openPostgresClients,
} from './dedicated-connections.js'

/**
 * The Kysely ceiling: a Driver with no pool at all. It opens `count`
 * connections at init and hands them out round-robin. A Kysely connection
 * must be exclusive (a transaction runs on it), so each connection has a
 * tiny FIFO lock; that lock is all the "pool" there is — no timeouts, no
 * hygiene, no stats. Whatever a pooled Kysely dialect loses against this
 * is the pool's cost.
 */
export class RoundRobinDialect implements Dialect {
  readonly #database: 'postgres' | 'mariadb'
  readonly #url: string
  readonly #count: number

  constructor(database: 'postgres' | 'mariadb', url: string, count: number) {
    this.#database = database
    this.#url = url
    this.#count = count
  }

  createDriver(): Driver {
    return new RoundRobinDriver(this.#database, this.#url, this.#count)
  }

  createQueryCompiler() {
    return this.#database === 'postgres' ? new PostgresQueryCompiler() : new MysqlQueryCompiler()
  }

  createAdapter() {
    return this.#database === 'postgres' ? new PostgresAdapter() : new MysqlAdapter()
  }

  // Kysely's Dialect interface declares this parameter as Kysely<any>.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own signature
  createIntrospector(db: Kysely<any>) {
    return this.#database === 'postgres' ? new PostgresIntrospector(db) : new MysqlIntrospector(db)
  }
}

class RoundRobinDriver implements Driver {
  readonly #database: 'postgres' | 'mariadb'
  readonly #url: string
  readonly #count: number
  #slots: Slot[] = []
  #closeAll: () => Promise<void> = async () => undefined
  #next = 0

  constructor(database: 'postgres' | 'mariadb', url: string, count: number) {
    this.#database = database
    this.#url = url
    this.#count = count
  }

  async init(): Promise<void> {
    if (this.#database === 'postgres') {
      const clients = await openPostgresClients(this.#url, this.#count)
      this.#slots = clients.map((client) => new Slot(new PostgresRoundRobinConnection(client)))
      this.#closeAll = () => closePostgresClients(clients)
    } else {
      const connections = await openMysqlConnections(this.#url, this.#count)
      this.#slots = connections.map((connection) => new Slot(new MysqlRoundRobinConnection(connection)))
      this.#closeAll = () => closeMysqlConnections(connections)
    }
  }

  acquireConnection(): Promise<DatabaseConnection> {
    const slot = this.#slots[this.#next]!
    this.#next = (this.#next + 1) % this.#slots.length
    return slot.lock()
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    ;(connection as RoundRobinConnection).slot.unlock()
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (settings.isolationLevel || settings.accessMode) {
      throw new Error('the bench round-robin driver runs plain transactions only')
    }
    await connection.executeQuery(CompiledQuery.raw('begin'))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'))
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'))
  }

  async destroy(): Promise<void> {
    await this.#closeAll()
    this.#slots = []
  }
}

/** One connection's FIFO lock: an array queue with a moving head (no shift()). */
class Slot {
  readonly connection: RoundRobinConnection
  #busy = false
  #waiters: Array<(connection: DatabaseConnection) => void> = []
  #head = 0

  constructor(connection: RoundRobinConnection) {
    this.connection = connection
    connection.slot = this
  }

  lock(): Promise<DatabaseConnection> {
    if (!this.#busy) {
      this.#busy = true
      return Promise.resolve(this.connection)
    }
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  unlock(): void {
    if (this.#head < this.#waiters.length) {
      const next = this.#waiters[this.#head]!
      this.#waiters[this.#head++] = undefined as never
      if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
        this.#waiters = this.#waiters.slice(this.#head)
        this.#head = 0
      }
      next(this.connection)
      return
    }
    this.#busy = false
  }
}

interface RoundRobinConnection extends DatabaseConnection {
  slot: Slot
}

class PostgresRoundRobinConnection implements RoundRobinConnection {
  slot!: Slot
  readonly #client: pg.Client

  constructor(client: pg.Client) {
    this.#client = client
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#client.query(compiledQuery.sql, compiledQuery.parameters as unknown[])
    const { command, rowCount, rows } = result
    return {
      numAffectedRows:
        command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
          ? BigInt(rowCount ?? 0)
          : undefined,
      rows: (rows ?? []) as R[],
    }
  }

  // eslint-disable-next-line require-yield -- it only refuses
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the bench round-robin driver does not stream')
  }
}

class MysqlRoundRobinConnection implements RoundRobinConnection {
  slot!: Slot
  readonly #connection: mysql.Connection

  constructor(connection: mysql.Connection) {
    this.#connection = connection
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await mysqlQuery(this.#connection, compiledQuery.sql, compiledQuery.parameters)
    if (Array.isArray(result)) {
      return { rows: result as R[] }
    }
    const { insertId, affectedRows, changedRows } = result as mysql.ResultSetHeader
    return {
      insertId: insertId !== undefined ? BigInt(insertId) : undefined,
      numAffectedRows: affectedRows !== undefined ? BigInt(affectedRows) : undefined,
      numChangedRows: changedRows !== undefined ? BigInt(changedRows) : undefined,
      rows: [],
    }
  }

  // eslint-disable-next-line require-yield -- it only refuses
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the bench round-robin driver does not stream')
  }
}
