import { Logger } from '@nestjs/common';
import { DataSource, type FindOptionsWhere } from 'typeorm';
import { FakeClock } from '../src/common/clock/fake-clock';

/** Fixed timestamps, real waiting: the service backs off between deadlock retries through the clock. */
class RealSleepClock extends FakeClock {
  override sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
import { AppException } from '../src/common/errors/app.exception';
import { parseDatabaseUrl } from '../src/config/load-config';
import { buildDataSourceOptions } from '../src/database/typeorm-options';
import { createUsersService } from '../src/testing/in-memory-database';
import { User } from '../src/users/user.entity';
import type { ResolvedUser, UsersService, WechatSession } from '../src/users/users.service';
import { WechatIdentity } from '../src/users/wechat-identity.entity';
import { createTestDatabase, TEST_DB, type TestDatabase } from './support/test-database';

/**
 * UsersService against the real schema (migrations applied, no synchronize) on the suite's tier: SQLite by
 * default, MariaDB with TEST_DB=mariadb, where row locks, gap locks and collations are real.
 */
describe(`users domain (${TEST_DB})`, () => {
  let db: TestDatabase;
  let ds: DataSource;
  let clock: FakeClock;
  let users: UsersService;
  /** On MariaDB, three app instances with pools of 25 (as in production, more than one), sharing the database. */
  let instances: UsersService[];
  const extra: DataSource[] = [];
  const logged: string[] = [];

  beforeAll(async () => {
    jest
      .spyOn(Logger.prototype, 'log')
      .mockImplementation((message: unknown) => void logged.push(String(message)));
    db = await createTestDatabase();
    ds = new DataSource(
      buildDataSourceOptions({
        ...parseDatabaseUrl(db.url, '/unused'),
        migrateOnStart: true,
        synchronize: false,
      }),
    );
    await ds.initialize();
    clock = new RealSleepClock();
    users = createUsersService(ds, clock);
    instances = [users];
    if (TEST_DB === 'mariadb') {
      for (let i = 0; i < 3; i++) {
        const options = buildDataSourceOptions({
          ...parseDatabaseUrl(db.url, '/unused'),
          migrateOnStart: false,
          synchronize: false,
        });
        const instance = new DataSource({ ...options, extra: { connectionLimit: 25 } } as typeof options);
        extra.push(await instance.initialize());
      }
      // Each has its own TransactionRunner, as separate processes would.
      instances = extra.map((instance) => createUsersService(instance, clock));
    }
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    for (const instance of extra) await instance.destroy();
    await ds?.destroy();
    await db?.drop();
  });

  let next = 0;
  /** A login on the next instance in turn (on SQLite there is one). */
  const login = (s: Partial<WechatSession> & { openid: string }): Promise<ResolvedUser> =>
    instances[next++ % instances.length].resolveIdentity({ appid: 'wxapp_one', sessionKey: 'key==', ...s });
  const identitiesOf = (where: FindOptionsWhere<WechatIdentity>) =>
    ds.getRepository(WechatIdentity).find({ where });
  const userCount = (ids: string[]) => ds.getRepository(User).count({ where: ids.map((id) => ({ id })) });

  describe('case-sensitive WeChat ids', () => {
    it('keeps ids differing only in case apart: two users, each with its own session_key', async () => {
      const upper = await login({ openid: 'oCaseUserX', sessionKey: 'upper-key==' });
      const lower = await login({ openid: 'ocaseuserX', sessionKey: 'lower-key==' });
      expect(lower).toMatchObject({ isNew: true });
      expect(lower.user.id).not.toBe(upper.user.id);
      await expect(users.sessionKeyOf('wxapp_one', 'oCaseUserX')).resolves.toBe('upper-key==');
      await expect(users.sessionKeyOf('wxapp_one', 'ocaseuserX')).resolves.toBe('lower-key==');
      await expect(users.identityOf(upper.user.id, 'wxapp_one')).resolves.toMatchObject({
        openid: 'oCaseUserX',
        sessionKey: 'upper-key==',
      });
      // And each returns to its own user.
      await expect(login({ openid: 'ocaseuserX' })).resolves.toMatchObject({ user: { id: lower.user.id } });
      await expect(login({ openid: 'oCaseUserX' })).resolves.toMatchObject({ user: { id: upper.user.id } });
    });

    it('keeps appids and unionids differing only in case apart', async () => {
      const a = await login({ appid: 'wxCaseApp', openid: 'o-case-app' });
      const b = await login({ appid: 'wxcaseapp', openid: 'o-case-app' });
      expect(b.user.id).not.toBe(a.user.id);

      const u1 = await login({ openid: 'o-union-1', unionid: 'uCaseUnion' });
      const u2 = await login({ appid: 'wxapp_two', openid: 'o-union-2', unionid: 'ucaseunion' });
      expect(u2).toMatchObject({ isNew: true });
      expect(u2.user.id).not.toBe(u1.user.id);
    });

    (TEST_DB === 'mariadb' ? it : it.skip)('stores the id columns with a binary collation', async () => {
      const rows: { t: string; c: string; collation: string }[] = await ds.query(
        `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLLATION_NAME AS collation FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME IN ('appid', 'openid', 'unionid', 'nickname')
         ORDER BY 1, 2`,
      );
      expect(rows).toEqual([
        { t: 'auth_events', c: 'appid', collation: 'utf8mb4_bin' },
        { t: 'refresh_tokens', c: 'appid', collation: 'utf8mb4_bin' },
        { t: 'unionids', c: 'unionid', collation: 'utf8mb4_bin' },
        { t: 'users', c: 'nickname', collation: 'utf8mb4_unicode_ci' },
        { t: 'wechat_identities', c: 'appid', collation: 'utf8mb4_bin' },
        { t: 'wechat_identities', c: 'openid', collation: 'utf8mb4_bin' },
        { t: 'wechat_identities', c: 'unionid', collation: 'utf8mb4_bin' },
        { t: 'wechat_usage', c: 'appid', collation: 'utf8mb4_bin' },
      ]);
    });
  });

  describe('concurrent first logins', () => {
    it.each([
      ['without', undefined],
      ['with', 'u-burst'],
    ])(
      '50 parallel first logins of one openid %s a unionid: all succeed, one user, one identity',
      async (_, unionid) => {
        for (let round = 0; round < 4; round++) {
          const openid = `o-burst-${unionid ?? 'none'}-${round}`;
          const union = unionid && `${unionid}-${round}`;
          const results = await Promise.allSettled(
            Array.from({ length: 50 }, (__, i) => login({ openid, unionid: union, sessionKey: `k-${i}==` })),
          );
          const failed = results.filter((r) => r.status === 'rejected');
          expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
          const ok = results.map((r) => (r as PromiseFulfilledResult<ResolvedUser>).value);
          const ids = new Set(ok.map((r) => r.user.id));
          expect(ids.size).toBe(1);
          expect(ok.filter((r) => r.isNew)).toHaveLength(1);
          const rows = await identitiesOf({ openid });
          expect(rows).toHaveLength(1);
          expect(rows[0]).toMatchObject({ userId: [...ids][0], unionid: union ?? null });
          expect(await userCount([...ids])).toBe(1);
        }
      },
    );

    it('links concurrent first logins of one person from two apps to one user', async () => {
      for (let round = 0; round < 3; round++) {
        const unionid = `u-two-apps-${round}`;
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            login({
              appid: i % 2 ? 'wxapp_one' : 'wxapp_two',
              openid: `o-two-apps-${round}-${i % 2}`,
              unionid,
            }),
          ),
        );
        expect(new Set(results.map((r) => r.user.id)).size).toBe(1);
        expect(new Set((await identitiesOf({ unionid })).map((i) => i.userId)).size).toBe(1);
      }
    });
  });

  describe('a unionid that appears later', () => {
    it('merges the two users into the older one', async () => {
      const older = (await login({ openid: 'o-late-a' })).user;
      clock.advance(1000);
      const newer = (await login({ appid: 'wxapp_two', openid: 'o-late-b', unionid: 'u-late' })).user;
      clock.advance(1000);

      const merged = await login({ openid: 'o-late-a', unionid: 'u-late' });
      expect(merged).toMatchObject({ isNew: false, user: { id: older.id }, mergedUserIds: [newer.id] });
      await expect(users.findById(newer.id)).resolves.toBeNull();
      expect((await identitiesOf({ unionid: 'u-late' })).map((i) => i.userId)).toEqual([older.id, older.id]);
      // Logged with user ids only: no openid, no unionid.
      expect(logged).toContain(`merged user(s) ${newer.id} into ${older.id} (shared unionid)`);
      expect(logged.filter((line) => /o-late|u-late/.test(line))).toEqual([]);
    });

    it('leaves exactly one user holding a unionid that two users start sending at once', async () => {
      for (let round = 0; round < 3; round++) {
        const unionid = `u-race-${round}`;
        const a = (await login({ openid: `o-race-a-${round}` })).user;
        clock.advance(1000);
        const b = (await login({ appid: 'wxapp_two', openid: `o-race-b-${round}` })).user;
        clock.advance(1000);

        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            login(
              i % 2
                ? { openid: `o-race-a-${round}`, unionid }
                : { appid: 'wxapp_two', openid: `o-race-b-${round}`, unionid },
            ),
          ),
        );
        const failed = results.filter((r) => r.status === 'rejected');
        expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
        const ok = results.map((r) => (r as PromiseFulfilledResult<ResolvedUser>).value);
        expect(ok.filter((r) => r.mergedUserIds).map((r) => r.mergedUserIds)).toEqual([[b.id]]);

        const holders = await identitiesOf({ unionid });
        expect(holders.map((h) => h.userId)).toEqual([a.id, a.id]);
        expect(await userCount([a.id, b.id])).toBe(1);
      }
    });
  });

  describe('phone numbers', () => {
    const phone = { purePhoneNumber: '13812345678', countryCode: '86' };

    it('belong to one user: another user binding the same number gets PHONE_IN_USE', async () => {
      const a = (await login({ openid: 'o-phone-a' })).user;
      const b = (await login({ openid: 'o-phone-b' })).user;
      await expect(users.bindPhone(a.id, phone)).resolves.toMatchObject({ phone: '13812345678' });
      await expect(users.bindPhone(a.id, phone)).resolves.toMatchObject({ phone: '13812345678' });
      const error = await users.bindPhone(b.id, phone).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppException);
      expect((error as AppException).code).toBe('PHONE_IN_USE');
    });

    it('let exactly one of several users binding one number at once win', async () => {
      for (let round = 0; round < 3; round++) {
        const number = { purePhoneNumber: `1390000000${round}`, countryCode: '86' };
        const contenders = await Promise.all(
          Array.from({ length: 5 }, async (_, i) => (await login({ openid: `o-bind-${round}-${i}` })).user),
        );
        const outcomes = await Promise.allSettled(contenders.map((u) => users.bindPhone(u.id, number)));
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        expect(
          outcomes
            .filter((o) => o.status === 'rejected')
            .map((o) => ((o as PromiseRejectedResult).reason as AppException).code),
        ).toEqual(Array(4).fill('PHONE_IN_USE'));
        expect(await ds.getRepository(User).countBy({ phone: number.purePhoneNumber })).toBe(1);
      }
    });

    it('allow many users without a phone (NULLs never collide)', async () => {
      const ids = await Promise.all(
        ['o-nophone-1', 'o-nophone-2', 'o-nophone-3'].map(
          async (openid) => (await login({ openid })).user.id,
        ),
      );
      expect(await userCount(ids)).toBe(3);
    });
  });

  it('stores emoji nicknames byte for byte', async () => {
    const { user } = await login({ openid: 'o-emoji' });
    // Skin tone modifier, ZWJ family, flag, a supplementary-plane CJK character, a variation selector.
    const nickname = '小明👍🏽👨‍👩‍👧🇨🇳𠮷❤️';
    await users.updateProfile(user.id, { nickname });
    const stored = await users.findById(user.id);
    expect(Buffer.from(stored!.nickname!, 'utf8').equals(Buffer.from(nickname, 'utf8'))).toBe(true);
    const raw: { nickname: string }[] = await ds.query(`SELECT nickname FROM users WHERE id = '${user.id}'`);
    expect(Buffer.from(raw[0].nickname, 'utf8').toString('hex')).toBe(
      Buffer.from(nickname, 'utf8').toString('hex'),
    );
  });
});
