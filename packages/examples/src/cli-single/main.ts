import { exampleDatabase } from '../shared/databases.js'
import { runNotes } from './notes-cli.js'

// pnpm --filter @kysely-pooled/examples cli-single add "buy milk"   (NOTES_DB=mysql for MySQL)
const database = exampleDatabase(process.env.NOTES_DB === 'mysql' ? 'mysql' : 'postgres')
process.exitCode = await runNotes(process.argv.slice(2), database, {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
})
