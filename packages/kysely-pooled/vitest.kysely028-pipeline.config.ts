import { kyselyPooledProject } from './vitest.project.js'

// The suite again with PooledPostgresDialect({ pipeline: true }) on kysely 0.28.
export default kyselyPooledProject('kysely-pooled (kysely 0.28, pipeline)', '0.28', true)
