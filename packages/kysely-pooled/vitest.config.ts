import { kyselyPooledProject } from './vitest.project.js'

// The suite on the installed kysely (0.29). vitest.kysely028.config.ts runs
// the same files on kysely 0.28; the root config lists both.
export default kyselyPooledProject('kysely-pooled', '0.29')
