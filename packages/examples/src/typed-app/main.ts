import { exampleDatabase } from '../shared/databases.js'
import { shutdownOnSignals } from './shutdown-on-signals.js'
import { TodoApp } from './todo-app.js'

// pnpm --filter @kysely-pooled/examples typed-app [mysql]   (PORT, PG_URL / MYSQL_URL)
const dialect = process.argv[2] === 'mysql' ? 'mysql' : 'postgres'
const database = exampleDatabase(dialect)
const app = new TodoApp({ database })
const port = await app.listen(Number(process.env.PORT ?? 3000))
console.log(
  `todo API on http://127.0.0.1:${port}/todos (${database.label} ${database.displayUrl}); Ctrl-C or SIGTERM to stop`,
)

await shutdownOnSignals(app).catch((error: unknown) => {
  console.error(`shutdown failed: ${(error as Error).message}`)
  process.exitCode = 1
})
