/** The parts of a stream the demo writes to. */
export interface OutputStream {
  write(text: string): unknown
  readonly isTTY?: boolean
}

/**
 * Output for a human. On a terminal: colour (unless `NO_COLOR` is set or
 * `TERM=dumb`) and gauges redrawn in place. Anywhere else (a pipe, a file,
 * CI): plain text, no escape codes, gauges printed as ordinary lines.
 */
export class Terminal {
  readonly #stream: OutputStream
  /** Gauges redraw one line in place. */
  readonly live: boolean
  readonly colour: boolean

  constructor(stream: OutputStream, env: NodeJS.ProcessEnv = process.env) {
    this.#stream = stream
    this.live = stream.isTTY === true && env.TERM !== 'dumb'
    this.colour = this.live && (env.NO_COLOR === undefined || env.NO_COLOR === '')
  }

  line(text = ''): void {
    this.#stream.write(`${text}\n`)
  }

  /** Writes raw text; only gauges need this. */
  write(text: string): void {
    this.#stream.write(text)
  }

  heading(text: string): void {
    this.line()
    this.line(this.bold(text))
  }

  bold = (text: string): string => this.#paint(text, 1, 22)
  dim = (text: string): string => this.#paint(text, 2, 22)
  green = (text: string): string => this.#paint(text, 32, 39)
  red = (text: string): string => this.#paint(text, 31, 39)
  yellow = (text: string): string => this.#paint(text, 33, 39)

  #paint(text: string, on: number, off: number): string {
    return this.colour ? `\u001b[${on}m${text}\u001b[${off}m` : text
  }
}

/**
 * One line of live figures. On a terminal it is redrawn in place on every
 * update; elsewhere it prints a plain line at most every `plainEveryMillis`,
 * so a log stays short.
 */
export class Gauge {
  readonly #terminal: Terminal
  readonly #plainEveryMillis: number
  // The first plain line waits a period too: figures need a moment to mean something.
  #lastPlain = performance.now()
  #last = ''

  constructor(terminal: Terminal, plainEveryMillis = 500) {
    this.#terminal = terminal
    this.#plainEveryMillis = plainEveryMillis
  }

  update(text: string): void {
    this.#last = text
    if (this.#terminal.live) {
      // \r: back to column 0; ESC[K: clear what the previous, longer line left.
      this.#terminal.write(`\r${text}\u001b[K`)
      return
    }
    const now = performance.now()
    if (now - this.#lastPlain >= this.#plainEveryMillis) {
      this.#lastPlain = now
      this.#terminal.line(text)
    }
  }

  /** Leaves the final figures on screen and moves to the next line. */
  done(text = this.#last): void {
    if (this.#terminal.live) {
      this.#terminal.write(`\r${text}\u001b[K\n`)
    } else {
      this.#terminal.line(text)
    }
  }
}
