import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config/app-config';
import { RefreshToken } from '../token/refresh-token.entity';
import { User } from '../users/user.entity';
import { WechatIdentity } from '../users/wechat-identity.entity';
import { InitialSchema1763800000000 } from './migrations/1763800000000-initial-schema';
import { IdentityLifecycle1764600000000 } from './migrations/1764600000000-identity-lifecycle';

export const ENTITIES = [User, WechatIdentity, RefreshToken];
// Class references, not globs: they load the same under ts-jest, ts-node and from dist/.
export const MIGRATIONS = [InitialSchema1763800000000, IdentityLifecycle1764600000000];

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
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
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
    connectTimeout: 5000,
    extra: { connectionLimit: 10 },
  };
}
