import { startTestDatabases } from '@kysely-pooled/core/testing'

// Uses PG_URL / MYSQL_URL or the local servers; starts containers only when
// neither answers (see startTestDatabases).
export default async function setup(): Promise<() => Promise<void>> {
  const started = await startTestDatabases()
  return started.stop
}
