import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { AuthEvent } from '../audit/auth-event.entity';
import { type DatabaseConfig, DEFAULT_DATABASE_LIMITS } from '../config/app-config';
import { RefreshToken } from '../token/refresh-token.entity';
import { RevocationRow } from '../token/revocation/revocation.entity';
import { User } from '../users/user.entity';
import { UnionidOwner } from '../users/unionid.entity';
import { WechatIdentity } from '../users/wechat-identity.entity';
import { WechatUsageRow } from '../wechat-auth/usage/wechat-usage.entity';
import { InitialSchema1763800000000 } from './migrations/1763800000000-initial-schema';
import { IdentityLifecycle1764600000000 } from './migrations/1764600000000-identity-lifecycle';
import { AuditEvents1764700000000 } from './migrations/1764700000000-audit-events';
import { DurableRevocations1765000000000 } from './migrations/1765000000000-durable-revocations';
import { WechatUsage1765250000000 } from './migrations/1765250000000-wechat-usage';
import { IdentityRiskRank1765300000000 } from './migrations/1765300000000-identity-risk-rank';
import { IdentityGraph1765100000000 } from './migrations/1765100000000-identity-graph';
import { ProfileContentChecks1765400000000 } from './migrations/1765400000000-profile-content-checks';
import { WechatUsageAppidWidth1765500000000 } from './migrations/1765500000000-wechat-usage-appid-width';
import { guardedMysqlDriver } from './mysql-pool-guard';

export const ENTITIES = [
  User,
  WechatIdentity,
  UnionidOwner,
  RefreshToken,
  AuthEvent,
  RevocationRow,
  WechatUsageRow,
];
// Class references, not globs: they load the same under ts-jest, ts-node and from dist/.
export const MIGRATIONS = [
  InitialSchema1763800000000,
  IdentityLifecycle1764600000000,
  AuditEvents1764700000000,
  DurableRevocations1765000000000,
  IdentityGraph1765100000000,
  WechatUsage1765250000000,
  IdentityRiskRank1765300000000,
  ProfileContentChecks1765400000000,
  WechatUsageAppidWidth1765500000000,
];

/** The one place TypeORM is configured; used by the app and by ormconfig.ts (migration CLI). */
export function buildDataSourceOptions(db: DatabaseConfig): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsRun: db.migrateOnStart,
    // Only tests may ask for synchronize (see loadConfig); production schemas come from migrations.
    synchronize: db.synchronize,
    logging: false,
  } as const;

  if (db.type === 'better-sqlite3') {
    const path = db.sqlitePath ?? ':memory:';
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      createPrivately(path);
    }
    return {
      ...common,
      type: 'better-sqlite3',
      database: path,
      prepareDatabase: (conn: { pragma(sql: string): unknown }) => {
        conn.pragma('journal_mode = WAL');
        conn.pragma('busy_timeout = 5000');
      },
    };
  }

  const limits = db.limits ?? DEFAULT_DATABASE_LIMITS;
  return {
    ...common,
    type: db.type,
    host: db.host,
    port: db.port,
    username: db.username,
    password: db.password,
    database: db.database,
    charset: 'utf8mb4_unicode_ci',
    // Store and read DATETIME as UTC whatever the server's time zone.
    timezone: 'Z',
    // mysql2 with a deadline on every call: pool wait, connect and each query (see mysql-pool-guard.ts).
    driver: guardedMysqlDriver(limits),
    poolSize: limits.poolSize,
    // Making a connection is part of acquiring one: a handshake that does not come fails within that bound.
    connectTimeout: limits.acquireTimeoutMs,
    extra: {
      // mysql2 reads queueLimit 0 as "unbounded"; here 0 means nobody waits for a busy pool.
      waitForConnections: limits.queueLimit > 0,
      queueLimit: limits.queueLimit,
      // mysql2 captures a stack trace on every query to append the caller to a later error: 6-9 % of CPU
      // under load in the bench's profile. Our errors are mapped to codes and logged with our own stacks.
      trace: false,
    },
  };
}

/**
 * The SQLite file holds personal data (phones, sealed session keys, refresh-token hashes): only the
 * service user may read it, like dev-secrets.json. SQLite creates `-wal` and `-shm` with the mode
 * of the database file, so making that file 0600 before better-sqlite3 opens it covers all three.
 * A file an earlier version left group- or world-readable is tightened too.
 */
function createPrivately(path: string): void {
  // 'a' creates the file if missing (mode applies only then) and never truncates an existing one.
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    const mode = statSync(file, { throwIfNoEntry: false })?.mode;
    if (mode !== undefined && (mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
}
