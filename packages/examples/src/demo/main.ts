import { runDemo } from './run-demo.js'

// `pnpm demo`: PG_URL / MYSQL_URL, or the local defaults.
runDemo().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    // No stack trace for a demo: one line says what went wrong.
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`)
    process.exitCode = 1
  },
)
