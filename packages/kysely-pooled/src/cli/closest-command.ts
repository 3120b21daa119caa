/**
 * The command `word` was probably meant to be (`doctr` → `doctor`), or
 * `undefined`: a third of the word may be wrong, at most two edits, so a URL
 * or a password typed in the wrong place never matches (and is never echoed).
 */
export function closestCommand(word: string, commands: readonly string[]): string | undefined {
  const typed = word.toLowerCase()
  const allowed = Math.min(2, Math.max(1, Math.floor(typed.length / 3)))
  let best: string | undefined
  let bestDistance = Infinity
  for (const command of commands) {
    const distance = editDistance(typed, command)
    if (distance < bestDistance) {
      best = command
      bestDistance = distance
    }
  }
  return bestDistance <= allowed ? best : undefined
}

/** Levenshtein distance, with a swap of neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const cols = b.length + 1
  const d: number[] = Array.from({ length: (a.length + 1) * cols }, (_, k) =>
    k < cols ? k : k % cols === 0 ? k / cols : 0,
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, d[(i - 2) * cols + j - 2]! + 1)
      }
      d[i * cols + j] = value
    }
  }
  return d[d.length - 1]!
}
