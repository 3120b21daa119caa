export {
  DEFAULT_MYSQL_URL,
  DEFAULT_PG_URL,
  TEST_DIALECTS,
  testDatabase,
  testDatabases,
  type TestDatabase,
  type TestDialect,
} from './test-databases.js'
export {
  answersTcp,
  startTestDatabases,
  type StartedTestDatabases,
  type StartTestDatabasesOptions,
} from './start-test-databases.js'
export { redactSecret, redactUrl } from '../connector/redact-url.js'
export { startFaultProxy, type FaultMode, type FaultProxy, type FaultProxyOptions } from './fault-proxy.js'
