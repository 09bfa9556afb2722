import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';

const MARIADB = { type: 'mariadb' as const, host: '127.0.0.1', port: 3306, username: 'root', password: '' };
const REDIS_URL = 'redis://127.0.0.1:6379';

/** What the login scenarios' row check found in wechat_identities. */
export interface IdentityRows {
  /** Every openid with a row (each exactly once when `duplicated` is empty). */
  openids: Set<string>;
  /** Openids with more than one row. */
  duplicated: { openid: string; rows: number }[];
  /** Users without any identity (a lost creation race would leave one). */
  orphanUsers: number;
}

/** The bench's own database (and Redis key space): created at start, removed by `cleanup`, whatever happened. */
export interface Datastore {
  readonly kind: 'mariadb+redis' | 'sqlite';
  /** The service's environment for this store. */
  readonly env: Record<string, string>;
  /** An empty database of its own for the write baseline (MariaDB only: the write ratios are measured there). */
  readonly baselineDatabase?: string;
  identityRows(): Promise<IdentityRows>;
  cleanup(): Promise<void>;
}

async function readIdentityRows(db: DataSource): Promise<IdentityRows> {
  const rows = (await db.query('SELECT openid, COUNT(*) AS n FROM wechat_identities GROUP BY openid')) as {
    openid: string;
    n: number | string;
  }[];
  const [{ n: orphans }] = (await db.query(
    'SELECT COUNT(*) AS n FROM users u WHERE NOT EXISTS (SELECT 1 FROM wechat_identities w WHERE w.user_id = u.id)',
  )) as { n: number | string }[];
  return {
    openids: new Set(rows.map((r) => r.openid)),
    duplicated: rows.filter((r) => Number(r.n) > 1).map((r) => ({ openid: r.openid, rows: Number(r.n) })),
    orphanUsers: Number(orphans),
  };
}

/** The shared MariaDB (root, no password) and Redis: database `wxauth_bench_<pid>`, key prefix `wxauth-bench-<pid>:`. */
async function mariadbAndRedis(): Promise<Datastore> {
  const database = `wxauth_bench_${process.pid}`;
  const baselineDatabase = `${database}_baseline`;
  const keyPrefix = `wxauth-bench-${process.pid}:`;
  const admin = await new DataSource(MARIADB).initialize();
  for (const name of [database, baselineDatabase])
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  let db: DataSource | undefined;
  return {
    kind: 'mariadb+redis',
    baselineDatabase,
    env: {
      DATABASE_URL: `mariadb://root@127.0.0.1:3306/${database}`,
      REDIS_URL,
      REDIS_KEY_PREFIX: keyPrefix,
    },
    async identityRows() {
      db ??= await new DataSource({ ...MARIADB, database }).initialize();
      return readIdentityRows(db);
    },
    async cleanup() {
      await db?.destroy();
      for (const name of [database, baselineDatabase])
        await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.destroy();
      const redis = new Redis(REDIS_URL);
      try {
        for await (const keys of redis.scanStream({ match: `${keyPrefix}*`, count: 1000 }) as AsyncIterable<
          string[]
        >)
          if (keys.length > 0) await redis.unlink(...keys);
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** `BENCH_DB=sqlite`: a temporary SQLite file, no Redis (the service's in-process store). */
function sqlite(): Datastore {
  const file = join(tmpdir(), `wxauth-bench-${process.pid}.sqlite`);
  let db: DataSource | undefined;
  return {
    kind: 'sqlite',
    env: { DATABASE_URL: `sqlite:${file}` },
    async identityRows() {
      db ??= await new DataSource({ type: 'better-sqlite3', database: file, readonly: true }).initialize();
      return readIdentityRows(db);
    },
    async cleanup() {
      await db?.destroy();
      for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    },
  };
}

export async function createDatastore(kind: string | undefined): Promise<Datastore> {
  if (kind === undefined || kind === 'mariadb') return mariadbAndRedis();
  if (kind === 'sqlite') return sqlite();
  throw new Error(`BENCH_DB must be mariadb (default) or sqlite, not ${kind}`);
}
