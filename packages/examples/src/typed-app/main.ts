import { exampleDatabase } from '../shared/databases.js'
import { TodoApp } from './todo-app.js'

// pnpm --filter @kysely-pooled/examples typed-app [-- mysql]   (PORT, PG_URL / MYSQL_URL)
const dialect = process.argv[2] === 'mysql' ? 'mysql' : 'postgres'
const database = exampleDatabase(dialect)
const app = new TodoApp({ database })
const port = await app.listen(Number(process.env.PORT ?? 3000))
console.log(`todo API on http://127.0.0.1:${port}/todos (${database.label} ${database.displayUrl}); Ctrl-C or SIGTERM to stop`)

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    console.log(`${signal}: finishing ${app.inFlight} request(s) in flight, then closing the pool`)
    app.shutdown().then(
      () => console.log('stopped cleanly'),
      (error: unknown) => {
        console.error(`shutdown failed: ${(error as Error).message}`)
        process.exitCode = 1
      },
    )
  })
}
