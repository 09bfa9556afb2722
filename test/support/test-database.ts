import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';

/** Which tier the e2e suite runs on: embedded SQLite (default) or MariaDB/MySQL (`TEST_DB=mariadb`). */
export const TEST_DB = process.env.TEST_DB === 'mariadb' ? 'mariadb' : 'sqlite';
const MYSQL_HOST = process.env.TEST_MYSQL_HOST ?? '127.0.0.1';
const MYSQL_PORT = Number(process.env.TEST_MYSQL_PORT ?? 3306);
const MYSQL_USER = process.env.TEST_MYSQL_USER ?? 'root';
const MYSQL_PASSWORD = process.env.TEST_MYSQL_PASSWORD ?? '';

/** A database of its own for one test file; `drop()` removes it. */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
  if (TEST_DB === 'sqlite') {
    const file = join(tmpdir(), `wxauth-test-${suffix}.sqlite`);
    return {
      url: `sqlite:${file}`,
      drop: async () => {
        for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      },
    };
  }
  const name = `wxauth_test_${suffix}`;
  const admin = () =>
    createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: MYSQL_USER, password: MYSQL_PASSWORD });
  const conn = await admin();
  // The server's default charset, like a database an operator creates: the migration must make it utf8mb4.
  await conn.query(`CREATE DATABASE \`${name}\``);
  await conn.end();
  const auth = MYSQL_PASSWORD ? `${MYSQL_USER}:${encodeURIComponent(MYSQL_PASSWORD)}` : MYSQL_USER;
  return {
    url: `mariadb://${auth}@${MYSQL_HOST}:${MYSQL_PORT}/${name}`,
    drop: async () => {
      const c = await admin();
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}
