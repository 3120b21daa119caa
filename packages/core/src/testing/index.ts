export {
  assertAvailable,
  DEFAULT_MYSQL_URL,
  DEFAULT_PG_URL,
  PGBOUNCER_UNAVAILABLE_VARIABLE,
  PGBOUNCER_URL_VARIABLE,
  pgbouncerTarget,
  TEST_DIALECTS,
  testDatabase,
  testDatabases,
  testTargets,
  type TestDatabase,
  type TestDialect,
  type TestTarget,
  type TestTargetName,
} from './test-databases.js'
export {
  answersTcp,
  startTestDatabases,
  type StartedTestDatabases,
  type StartTestDatabasesOptions,
} from './start-test-databases.js'
export { redactSecret, redactUrl } from '../connector/redact-url.js'
export { startFaultProxy, type FaultMode, type FaultProxy, type FaultProxyOptions } from './fault-proxy.js'
