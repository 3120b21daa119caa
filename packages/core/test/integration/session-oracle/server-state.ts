import type pg from 'pg'
import type mysql from 'mysql2'
import type { Admin } from '../../connector/support/databases.js'

/**
 * What the server says about one session: every kind of state the issue
 * lists, as comparable values. Taken on a fresh connection (the baseline)
 * and after each case, on the same backend.
 */
export type ServerState = Record<string, unknown>

/** The names a case's statements use (temp tables, locks, prepared statements…), to ask about each. */
export function namesIn(statements: readonly string[]): string[] {
  return [...new Set(statements.join(' ').match(/kp_so_[a-z]\d+/g) ?? [])]
}

const POSTGRES_STATE = `SELECT
  (SELECT count(*)::int FROM pg_class WHERE relnamespace = pg_my_temp_schema()) AS temp_relations,
  (SELECT count(*)::int FROM pg_proc WHERE pronamespace = pg_my_temp_schema()) AS temp_functions,
  (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS advisory_locks,
  (SELECT string_agg(name || '=' || setting, '; ' ORDER BY name) FROM pg_settings WHERE source IN ('session', 'client')) AS settings,
  (SELECT count(*)::int FROM pg_prepared_statements) AS prepared_statements,
  (SELECT count(*)::int FROM pg_cursors) AS cursors,
  (SELECT count(*)::int FROM pg_listening_channels()) AS listening,
  current_user::text AS current_user,
  session_user::text AS session_user`

export async function postgresBackend(client: pg.Client): Promise<number> {
  return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
}

export async function postgresState(client: pg.Client): Promise<ServerState> {
  return (await client.query(POSTGRES_STATE)).rows[0] as ServerState
}

/** Session variables that move by themselves (timestamps, counters, ids). */
const VOLATILE_VARIABLES = new Set([
  'TIMESTAMP',
  'LAST_INSERT_ID',
  'INSERT_ID',
  'IDENTITY',
  'RAND_SEED1',
  'RAND_SEED2',
  'WARNING_COUNT',
  'ERROR_COUNT',
  'LAST_GTID',
  'GTID_SEQ_NO',
  'IN_TRANSACTION',
  'PSEUDO_THREAD_ID',
])

function mysqlQuery(connection: mysql.Connection, sql: string): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) =>
    connection.query(sql, (error, rows) => (error ? reject(error) : resolve(rows as Array<Record<string, unknown>>))),
  )
}

/** The error number a statement fails with, or 0. */
async function errnoOf(connection: mysql.Connection, sql: string): Promise<number> {
  try {
    await mysqlQuery(connection, sql)
    return 0
  } catch (error) {
    return (error as { errno?: number }).errno ?? -1
  }
}

export async function mysqlBackend(connection: mysql.Connection): Promise<number> {
  return Number((await mysqlQuery(connection, 'SELECT CONNECTION_ID() AS id'))[0]!.id)
}

/**
 * MySQL/MariaDB: whether table locks are held (another session cannot lock
 * the table, NOWAIT), what the next transaction is like (READ ONLY: a write
 * fails; SERIALIZABLE: a plain read takes a shared lock another session sees
 * with NOWAIT), the current database and role, user variables, every session
 * variable, and per name of the case: its temporary table, named lock,
 * prepared statement, handler.
 */
export async function mysqlState(
  connection: mysql.Connection,
  admin: Admin,
  names: readonly string[],
): Promise<ServerState> {
  // Table locks (LOCK TABLES, an open HANDLER), seen from the side: START TRANSACTION would release them.
  const tableLocks = (await admin
    .query('LOCK TABLES test.kp_so_items WRITE NOWAIT')
    .then(() => 0)
    .catch((error: { errno?: number }) => error.errno ?? -1)) as number
  await admin.query('UNLOCK TABLES')
  // Before any statement that reads a table: it would be the transaction a SET TRANSACTION shapes.
  await mysqlQuery(connection, 'START TRANSACTION')
  const readOnly = await errnoOf(connection, 'UPDATE test.kp_so_free SET n = n WHERE id = 0')
  await mysqlQuery(connection, 'SELECT n FROM test.kp_so_items WHERE id = 0')
  const serializable = (await admin
    .query('SELECT n FROM test.kp_so_items WHERE id = 0 FOR UPDATE NOWAIT')
    .then(() => 0)
    .catch((error: { errno?: number }) => error.errno ?? -1)) as number
  await admin.query('ROLLBACK')
  await mysqlQuery(connection, 'ROLLBACK')
  const [head] = await mysqlQuery(
    connection,
    'SELECT DATABASE() AS db, CURRENT_ROLE() AS role, (SELECT COUNT(*) FROM information_schema.USER_VARIABLES) AS user_variables',
  )
  const variables = Object.fromEntries(
    (
      await mysqlQuery(
        connection,
        'SELECT VARIABLE_NAME AS name, VARIABLE_VALUE AS value FROM information_schema.SESSION_VARIABLES',
      )
    )
      .filter((row) => !VOLATILE_VARIABLES.has(String(row.name)))
      .map((row) => [`@@${String(row.name).toLowerCase()}`, row.value]),
  )
  const leftovers: string[] = []
  for (const name of names) {
    const kind = name[6]
    let present = false
    if (kind === 't') present = (await errnoOf(connection, `SELECT 1 FROM test.${name}`)) === 0
    if (kind === 'l')
      present =
        Number((await mysqlQuery(connection, `SELECT IS_USED_LOCK('${name}') = CONNECTION_ID() AS mine`))[0]!.mine) ===
        1
    if (kind === 'p') present = (await errnoOf(connection, `DEALLOCATE PREPARE ${name}`)) === 0
    if (kind === 'h') present = (await errnoOf(connection, `HANDLER ${name} CLOSE`)) === 0
    if (present) leftovers.push(name)
  }
  return {
    ...head,
    user_variables: Number(head!.user_variables),
    ...variables,
    leftovers,
    tableLocks,
    nextTransactionReadOnly: readOnly,
    nextTransactionSerializable: serializable,
  }
}
