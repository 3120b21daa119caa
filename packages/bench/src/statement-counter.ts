import type mysql from 'mysql2'
import type pg from 'pg'

/**
 * Counts statements at the driver's protocol layer, below every pool:
 * for pg the Query (simple protocol) and Execute (extended protocol)
 * messages, for mysql2 every command after the handshake (query, execute,
 * ping, COM_RESET_CONNECTION…). Whatever a pool sends on release — by
 * `client.query`, a raw protocol call or a driver method — is counted.
 */
export class StatementCounter {
  #count = 0
  readonly #byKind = new Map<string, number>()

  get count(): number {
    return this.#count
  }

  byKind(): Record<string, number> {
    return Object.fromEntries(this.#byKind)
  }

  reset(): void {
    this.#count = 0
    this.#byKind.clear()
  }

  #record(kind: string): void {
    this.#count++
    this.#byKind.set(kind, (this.#byKind.get(kind) ?? 0) + 1)
  }

  /** Instruments a connected pg Client. */
  watchPostgres(client: pg.Client): void {
    const connection = (client as unknown as { connection: Record<string, (...args: unknown[]) => unknown> }).connection
    const query = connection['query']!
    const execute = connection['execute']!
    connection['query'] = (...args: unknown[]) => {
      this.#record(`query:${firstWords(args[0])}`)
      return query.apply(connection, args)
    }
    connection['execute'] = (...args: unknown[]) => {
      this.#record('execute')
      return execute.apply(connection, args)
    }
  }

  /** Instruments a connected mysql2 Connection (callback API). */
  watchMysql(connection: mysql.Connection): void {
    const target = connection as unknown as { addCommand(command: unknown): unknown }
    const addCommand = target.addCommand
    target.addCommand = (command: unknown) => {
      const name = (command as { constructor?: { name?: string } }).constructor?.name ?? 'command'
      const sql = (command as { sql?: unknown }).sql
      this.#record(name === 'Query' ? `query:${firstWords(sql)}` : name)
      return addCommand.call(connection, command)
    }
  }
}

function firstWords(sql: unknown): string {
  return typeof sql === 'string' ? sql.trim().split(/\s+/).slice(0, 2).join(' ').toLowerCase() : '?'
}
