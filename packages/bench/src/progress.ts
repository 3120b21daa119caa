const startedAt = performance.now()

/**
 * One line per step on stderr, so stdout stays clean and a long run shows
 * it is alive.
 */
export function progress(message: string): void {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)
  process.stderr.write(`[bench ${seconds}s] ${message}\n`)
}

export function elapsedSeconds(): number {
  return (performance.now() - startedAt) / 1000
}
