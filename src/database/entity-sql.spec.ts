import type { DataSource } from 'typeorm';
import { AuthEvent } from '../audit/auth-event.entity';
import { createInMemoryDataSource } from '../testing/in-memory-database';
import { RefreshToken } from '../token/refresh-token.entity';
import { UNCHECKED_PROFILE, User } from '../users/user.entity';
import { EntitySql, runStatement } from './entity-sql';

/**
 * EntitySql writes and reads rows exactly as TypeORM's repositories do (same conversions: dates,
 * transformers, nulls, column defaults) — checked both ways against the repositories on SQLite here; the
 * MariaDB tier runs every login and refresh through it (test:mysql).
 */
describe('EntitySql', () => {
  let dataSource: DataSource;
  beforeEach(async () => {
    dataSource = await createInMemoryDataSource();
  });
  afterEach(() => dataSource.destroy());

  const user = (id: string): User => ({
    id,
    nickname: 'Ann',
    avatarUrl: null,
    phone: null,
    phoneCountryCode: null,
    roles: ['user', 'admin'],
    status: 'active',
    createdAt: new Date('2026-12-06T08:00:00.123Z'),
    updatedAt: new Date('2026-12-06T08:00:01.000Z'),
    lastLoginAt: null,
    ...UNCHECKED_PROFILE,
    avatarReview: true,
  });
  const USER_ID = '5f0c8f0e-8b1e-4f7e-9a51-1d2b3c4d5e6f';

  it('inserts a row the repository reads back as written (transformer, dates, nulls)', async () => {
    const sql = new EntitySql(dataSource, User);
    const { sql: insert, params } = sql.insert(user(USER_ID));
    expect(insert).toMatch(/^INSERT INTO "users" \(/);
    expect(params).toContain('user,admin');
    await runStatement(dataSource, insert, params);
    expect(await dataSource.getRepository(User).findOneByOrFail({ id: USER_ID })).toEqual(
      Object.assign(new User(), user(USER_ID)),
    );
  });

  it("hydrates a row the repository wrote, under a prefix, as the repository's own read", async () => {
    await dataSource.getRepository(User).insert(user(USER_ID));
    const sql = new EntitySql(dataSource, User);
    const { rows } = await runStatement(
      dataSource,
      `SELECT ${sql.select('u', 'u_')} FROM ${sql.table} u WHERE u.${sql.col('id')} = ?`,
      [sql.param('id', USER_ID)],
    );
    expect(sql.hydrate(rows[0], 'u_')).toEqual({
      ...(await dataSource.getRepository(User).findOneByOrFail({ id: USER_ID })),
    });
  });

  it('leaves undefined properties to the column default, as the repository does', async () => {
    const sql = new EntitySql(dataSource, User);
    const partial: Partial<User> = { ...user(USER_ID), roles: undefined, status: undefined };
    const { sql: insert, params } = sql.insert(partial);
    expect(insert).not.toContain('"roles"');
    await runStatement(dataSource, insert, params);
    const read = await dataSource.getRepository(User).findOneByOrFail({ id: USER_ID });
    expect([read.roles, read.status]).toEqual([['user'], 'active']);
  });

  it('builds one statement per shape of row and reuses it', () => {
    const sql = new EntitySql(dataSource, AuthEvent);
    const event = (type: string, reason: string | undefined) => ({
      id: '01M9564FESFCKPFH1QEP2MDYC7',
      occurredAt: new Date(),
      type,
      ...(reason ? { reason } : {}),
    });
    const a = sql.insert(event('login.succeeded', undefined) as Partial<AuthEvent>);
    const b = sql.insert(event('login.failed', undefined) as Partial<AuthEvent>);
    const c = sql.insert(event('login.failed', 'WX_CODE_USED') as Partial<AuthEvent>);
    expect(b.sql).toBe(a.sql);
    expect(c.sql).not.toBe(a.sql);
    expect(c.params).toContain('WX_CODE_USED');
  });

  it('counts changed rows, and runs inside the caller’s transaction (a rollback undoes it)', async () => {
    const sql = new EntitySql(dataSource, RefreshToken);
    const row: RefreshToken = {
      id: 'a0000000-0000-4000-8000-000000000001',
      familyId: 'f0000000-0000-4000-8000-000000000001',
      userId: USER_ID,
      appid: 'wxapp',
      tokenHash: 'h'.repeat(64),
      expiresAt: new Date('2027-01-01T00:00:00Z'),
      revokedAt: null,
      replacedBy: null,
      createdAt: new Date('2026-12-06T00:00:00Z'),
    };
    await dataSource.getRepository(User).insert(user(USER_ID));
    const insert = sql.insert(row);
    await runStatement(dataSource, insert.sql, insert.params);
    const revoke = `UPDATE ${sql.table} SET ${sql.col('revokedAt')} = ? WHERE ${sql.col('id')} = ? AND ${sql.col('revokedAt')} IS NULL`;
    const params = [sql.param('revokedAt', new Date()), sql.param('id', row.id)];
    await expect(
      dataSource.transaction(async (em) => {
        expect((await runStatement(em, revoke, params)).affected).toBe(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await runStatement(dataSource, revoke, params)).affected).toBe(1);
    expect((await runStatement(dataSource, revoke, params)).affected).toBe(0);
  });
});
