import { EXIT_FAILURE, EXIT_OK, type CliIo } from './cli-io.js'
import { closestCommand } from './closest-command.js'
import { runDoctor } from './doctor.js'
import { packageVersion } from './package-version.js'

export const CLI_HELP = `Usage: kysely-pooled <command> [options]

Commands:
  doctor [<url>…] inspect database servers' connection limits and costs and
                 recommend a pool size (kysely-pooled doctor --help)

Options:
  -h, --help     show this help
  -v, --version  print the version
`

const COMMANDS = ['doctor', 'help'] as const

/** The `kysely-pooled` command line; resolves the exit code. `env` supplies `DATABASE_URL`. */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [command, ...rest] = argv
  if (command === 'doctor') {
    return runDoctor(rest, io, env)
  }
  if (command === '--version' || command === '-v') {
    io.out(`${packageVersion()}\n`)
    return EXIT_OK
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(CLI_HELP)
    return command === undefined ? EXIT_FAILURE : EXIT_OK
  }
  // The unknown word is not echoed: it may be a URL typed in the wrong place.
  const meant = closestCommand(command, COMMANDS)
  io.err(
    meant === undefined
      ? 'kysely-pooled: unknown command (see kysely-pooled --help)\n'
      : `kysely-pooled: unknown command; did you mean "kysely-pooled ${meant}"? (see kysely-pooled --help)\n`,
  )
  return EXIT_FAILURE
}
