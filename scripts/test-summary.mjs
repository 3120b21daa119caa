// Prints vitest's JSON results as one closing line: "tests: N passed, N failed".
import { readFileSync } from 'node:fs'

const file = process.argv[2] ?? '.vitest/results.json'
let results
try {
  results = JSON.parse(readFileSync(file, 'utf8'))
} catch {
  console.log(`tests: no results in ${file}`)
  process.exit(1)
}
const failed = results.numFailedTests ?? 0
const passed = results.numPassedTests ?? 0
const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0)
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
