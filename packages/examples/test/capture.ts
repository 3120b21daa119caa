import type { OutputStream } from '../src/demo/terminal.js'

/** An output stream that keeps what was written; a terminal or a pipe as asked. */
export function captureStream(isTTY = false): OutputStream & { readonly text: string } {
  let text = ''
  return {
    isTTY,
    write(chunk: string) {
      text += chunk
      return true
    },
    get text() {
      return text
    },
  }
}

/** Any ANSI escape sequence. */
// eslint-disable-next-line no-control-regex -- an ANSI sequence starts with ESC
export const ANSI = /\u001b\[/
