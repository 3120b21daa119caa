// Run by idle-error.test.ts in a child process: a stock pool with no 'error'
// listener (its default), one idle connection, whose session is killed from
// the side. Prints what happened; a crash is the child's exit status.
import mysql from 'mysql2'
import pg from 'pg'

const [dialect, url] = process.argv.slice(2)
const until = async (condition) => {
  for (let i = 0; i < 250 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  return condition()
}

if (dialect === 'postgres') {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  const { rows } = await pool.query('SELECT pg_backend_pid() AS id')
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query('SELECT pg_terminate_backend($1)', [rows[0].id])
  await admin.end()
  console.log(`removed ${await until(() => pool.totalCount === 0)}`)
  await pool.query('SELECT 1')
  console.log('served')
  await pool.end()
} else {
  const pool = mysql.createPool({ uri: url, connectionLimit: 1 }).promise()
  const [rows] = await pool.query('SELECT CONNECTION_ID() AS id')
  const admin = await mysql.createConnection({ uri: url }).promise()
  await admin.query(`KILL ${Number(rows[0].id)}`)
  await admin.end()
  console.log(`removed ${await until(() => pool.pool._allConnections.length === 0)}`)
  await pool.query('SELECT 1')
  console.log('served')
  await pool.end()
}
