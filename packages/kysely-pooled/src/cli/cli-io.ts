/** Where the CLI writes. A seam so tests run commands in-process. */
export interface CliIo {
  /** Writes text to standard output (no newline added). */
  out(text: string): void
  /** Writes text to standard error (no newline added). */
  err(text: string): void
  /** Whether standard output is a terminal. */
  readonly isTty?: boolean
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTty: process.stdout.isTTY === true,
}

/** Exit codes: 0 fine, 1 the check found a problem, 2 the command could not run (usage, URL, connection). */
export const EXIT_OK = 0
export const EXIT_PROBLEM = 1
export const EXIT_FAILURE = 2

/** A failure that ends the command with one line on stderr and a given exit code. */
export class CliError extends Error {
  readonly exitCode: number

  constructor(message: string, exitCode: number = EXIT_FAILURE) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}
