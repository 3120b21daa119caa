import type { CliIo } from '../../src/cli/cli-io.js'

export interface CapturedIo extends CliIo {
  readonly stdout: string
  readonly stderr: string
}

/** A CliIo that records what a command printed. */
export function captureIo(): CapturedIo {
  let stdout = ''
  let stderr = ''
  return {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    isTty: false,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
  }
}
