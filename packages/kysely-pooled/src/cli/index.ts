// The command line's programmatic entry points, for tests and embedding.
export { runCli, CLI_HELP } from './run-cli.js'
export { runDoctor, DOCTOR_HELP } from './doctor.js'
export { processIo, CliError, EXIT_OK, EXIT_PROBLEM, EXIT_FAILURE, type CliIo } from './cli-io.js'
