export type ExampleDialect = 'postgres' | 'mysql'

export interface ExampleDatabase {
  readonly dialect: ExampleDialect
  /** `PostgreSQL` / `MySQL`, for humans. */
  readonly label: string
  /** The URL with its password: for drivers only. */
  readonly url: string
  /** The URL without a password: for everything printed. */
  readonly displayUrl: string
  /** The variable that overrides the URL. */
  readonly variable: 'PG_URL' | 'MYSQL_URL'
}

export const DEFAULT_URLS: Readonly<Record<ExampleDialect, string>> = Object.freeze({
  postgres: 'postgres://postgres@127.0.0.1:5432/test',
  mysql: 'mysql://root@127.0.0.1:3306/test',
})

/** The databases the examples use: `PG_URL` / `MYSQL_URL`, else the local defaults. */
export function exampleDatabases(env: NodeJS.ProcessEnv = process.env): ExampleDatabase[] {
  return [exampleDatabase('postgres', env), exampleDatabase('mysql', env)]
}

export function exampleDatabase(dialect: ExampleDialect, env: NodeJS.ProcessEnv = process.env): ExampleDatabase {
  const fromEnv = env[dialect === 'postgres' ? 'PG_URL' : 'MYSQL_URL']?.trim()
  return databaseAt(dialect, fromEnv ? fromEnv : DEFAULT_URLS[dialect])
}

/** An example database at a given URL. */
export function databaseAt(dialect: ExampleDialect, url: string): ExampleDatabase {
  return Object.freeze({
    dialect,
    label: dialect === 'postgres' ? 'PostgreSQL' : 'MySQL',
    url,
    displayUrl: withoutPassword(url),
    variable: dialect === 'postgres' ? 'PG_URL' : 'MYSQL_URL',
  })
}

/** The URL with the password removed; a string that is not a URL is hidden whole. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.password = ''
    for (const key of [...parsed.searchParams.keys()]) {
      if (/pass|pwd/i.test(key)) parsed.searchParams.set(key, '***')
    }
    return parsed.href
  } catch {
    return '(unparseable URL)'
  }
}
