import { join, resolve } from 'node:path';
import { type DatabaseConfig, type DatabaseLimits, DEFAULT_DATABASE_LIMITS } from '../config/app-config';
import { ConfigError, defineSlice, flag, integer, text, type ValuesOf } from '../config/config-slice';

const LIMITS_NOTE = 'MySQL/MariaDB only (ignored with a start-up warning on SQLite)';

const variables = {
  DATABASE_URL: text({
    defaultDoc: 'SQLite file `DATA_DIR/app.sqlite`',
    format:
      '`sqlite:/path/file.sqlite`, `sqlite::memory:`, `mysql://user:pass@host:3306/db` (MySQL 8), ' +
      '`mariadb://user:pass@host:3306/db` (MariaDB; same mysql2 driver)',
    pattern: /^(sqlite|mysql|mariadb):/,
    invalid: 'must start with sqlite:, mysql:// or mariadb://',
    operator: true,
    // It carries the database password.
    secret: true,
    description: 'where users, sessions and the audit trail live',
  }),
  DB_MIGRATE_ON_START: flag({
    default: true,
    description: 'apply pending migrations at start (bound by `DB_QUERY_TIMEOUT_MS`)',
  }),
  DB_POOL_SIZE: integer({
    default: DEFAULT_DATABASE_LIMITS.poolSize,
    min: 1,
    max: 1000,
    unit: 'connections',
    mustBe: 'a whole number of connections',
    operator: true,
    description: `connections per instance; size against the server's \`max_connections\`. ${LIMITS_NOTE}`,
  }),
  DB_POOL_ACQUIRE_TIMEOUT_MS: integer({
    default: DEFAULT_DATABASE_LIMITS.acquireTimeoutMs,
    min: 50,
    max: 60000,
    unit: 'ms',
    mustBe: 'milliseconds',
    description: `longest wait for a pooled connection, making a new one included; then \`503 DATABASE_UNAVAILABLE\`. ${LIMITS_NOTE}`,
  }),
  DB_POOL_QUEUE_LIMIT: integer({
    default: DEFAULT_DATABASE_LIMITS.queueLimit,
    min: 0,
    max: 100000,
    mustBe: 'a whole number',
    description: `requests that may wait for a connection while all are busy (\`0\`: none wait); beyond, \`503 DATABASE_UNAVAILABLE\` at once. ${LIMITS_NOTE}`,
  }),
  DB_QUERY_TIMEOUT_MS: integer({
    default: DEFAULT_DATABASE_LIMITS.queryTimeoutMs,
    min: 100,
    max: 600000,
    unit: 'ms',
    mustBe: 'milliseconds',
    description: `longest one query may take, BEGIN and COMMIT included; then its connection is closed and the request answers \`503 DATABASE_UNAVAILABLE\`. The migration CLI has no per-query deadline. ${LIMITS_NOTE}`,
  }),
};

export const databaseConfig = defineSlice({
  title: 'Database',
  variables,
  build(v, ctx) {
    let location: ReturnType<typeof parseDatabaseUrl>;
    try {
      location = parseDatabaseUrl(v.DATABASE_URL, ctx.dataDir);
    } catch (e) {
      (e instanceof ConfigError ? e.problems : ['DATABASE_URL is invalid']).forEach((p) => ctx.problem(p));
      return undefined;
    }
    if (location.type === 'better-sqlite3' && LIMIT_VARIABLES.some((name) => ctx.isSet(name)))
      ctx.warn(`${LIMIT_VARIABLES.join(', ')} apply to MySQL/MariaDB only: ignored with SQLite`);
    return {
      database: {
        ...location,
        migrateOnStart: v.DB_MIGRATE_ON_START,
        synchronize: ctx.synchronize && ctx.env === 'test',
        limits: databaseLimits(v),
      },
    };
  },
});

const LIMIT_VARIABLES = [
  'DB_POOL_SIZE',
  'DB_POOL_ACQUIRE_TIMEOUT_MS',
  'DB_POOL_QUEUE_LIMIT',
  'DB_QUERY_TIMEOUT_MS',
] as const;

export function databaseLimits(v: ValuesOf<typeof variables>): DatabaseLimits {
  return {
    poolSize: v.DB_POOL_SIZE,
    acquireTimeoutMs: v.DB_POOL_ACQUIRE_TIMEOUT_MS,
    queueLimit: v.DB_POOL_QUEUE_LIMIT,
    queryTimeoutMs: v.DB_QUERY_TIMEOUT_MS,
  };
}

/** `sqlite:…`, `mysql://…` or `mariadb://…` (or none: a SQLite file in the data folder) into its parts. */
export function parseDatabaseUrl(
  url: string | undefined,
  dataDir: string,
): Omit<DatabaseConfig, 'migrateOnStart' | 'synchronize'> {
  if (!url) return { type: 'better-sqlite3', sqlitePath: join(dataDir, 'app.sqlite') };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\//, '');
    return { type: 'better-sqlite3', sqlitePath: path === ':memory:' ? path : resolve(path) };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never echo the URL: it carries the database password.
    throw new ConfigError(['DATABASE_URL is not a valid URL']);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database)
    throw new ConfigError(['DATABASE_URL must name a database, e.g. mysql://user:pass@host:3306/app']);
  return {
    type: parsed.protocol === 'mariadb:' ? 'mariadb' : 'mysql',
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 3306,
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
  };
}
