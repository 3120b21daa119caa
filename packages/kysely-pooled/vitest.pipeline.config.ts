import { kyselyPooledProject } from './vitest.project.js'

// The suite again with PooledPostgresDialect({ pipeline: true }) (kysely 0.29).
export default kyselyPooledProject('kysely-pooled (pipeline)', '0.29', true)
