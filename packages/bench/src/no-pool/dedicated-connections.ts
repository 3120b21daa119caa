import mysql from 'mysql2'
import pg from 'pg'
import type { DatabaseTarget } from '../databases.js'

/**
 * `count` connections opened up front and never pooled: the ceilings run on
 * these. Opened in parallel; on failure every opened one is closed again.
 */
export async function openPostgresClients(url: string, count: number): Promise<pg.Client[]> {
  const clients = Array.from({ length: count }, () => new pg.Client({ connectionString: url }))
  const results = await Promise.allSettled(clients.map((client) => client.connect()))
  const failure = results.find((result) => result.status === 'rejected')
  if (failure) {
    await closePostgresClients(clients)
    throw (failure as PromiseRejectedResult).reason
  }
  return clients
}

export async function closePostgresClients(clients: readonly pg.Client[]): Promise<void> {
  await Promise.allSettled(clients.map((client) => client.end()))
}

export async function openMysqlConnections(url: string, count: number): Promise<mysql.Connection[]> {
  const opened: mysql.Connection[] = []
  const results = await Promise.allSettled(
    Array.from(
      { length: count },
      () =>
        new Promise<mysql.Connection>((resolve, reject) => {
          const connection = mysql.createConnection({ uri: url })
          connection.connect((error) => (error ? reject(error) : resolve(connection)))
          // An idle connection that dies must not crash the bench.
          connection.on('error', () => undefined)
        }),
    ),
  )
  for (const result of results) {
    if (result.status === 'fulfilled') opened.push(result.value)
  }
  const failure = results.find((result) => result.status === 'rejected')
  if (failure) {
    await closeMysqlConnections(opened)
    throw (failure as PromiseRejectedResult).reason
  }
  return opened
}

export async function closeMysqlConnections(connections: readonly mysql.Connection[]): Promise<void> {
  await Promise.allSettled(
    connections.map(
      (connection) =>
        new Promise<void>((resolve) => {
          connection.end(() => resolve())
        }),
    ),
  )
}

/** The callback API, promisified without extra layers (the ceiling must stay a ceiling). */
export function mysqlQuery(
  connection: mysql.Connection,
  sql: string,
  parameters: readonly unknown[],
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    connection.query(sql, parameters as unknown[], (error, result) => (error ? reject(error) : resolve(result)))
  })
}

export type DedicatedTarget = Pick<DatabaseTarget, 'id' | 'url'>
