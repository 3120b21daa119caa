import { kyselyPooledProject } from './vitest.project.js'

// The same suite as vitest.config.ts, with `kysely` resolved to kysely 0.28.
export default kyselyPooledProject('kysely-pooled (kysely 0.28)', '0.28')
