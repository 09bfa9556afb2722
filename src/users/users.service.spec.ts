import { Logger } from '@nestjs/common';
import { In, QueryFailedError, type DataSource, type EntityManager } from 'typeorm';
import { FakeClock } from '../common/clock/fake-clock';
import { SystemClock } from '../common/clock/system-clock';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { TransactionRunner } from '../database/transaction-runner';
import { createInMemoryDataSource, createUsersService } from '../testing/in-memory-database';
import { User } from './user.entity';
import { UsersService, type ResolvedUser, type WechatSession } from './users.service';
import { UnionidOwner } from './unionid.entity';
import { WechatIdentity } from './wechat-identity.entity';

describe('UsersService.resolveIdentity (in-memory SQLite)', () => {
  let dataSource: DataSource;
  let clock: FakeClock;
  let users: UsersService;

  beforeEach(async () => {
    dataSource = await createInMemoryDataSource();
    clock = new FakeClock();
    users = createUsersService(dataSource, clock);
  });

  afterEach(async () => {
    await dataSource.destroy();
  });

  const login = (s: Partial<WechatSession> = {}): Promise<ResolvedUser> =>
    users.resolveIdentity({ appid: 'wxapp_one', openid: 'openid-1', sessionKey: 'session-key-1==', ...s });

  const identities = (): Promise<WechatIdentity[]> =>
    dataSource.getRepository(WechatIdentity).find({ order: { createdAt: 'ASC' } });

  it('creates a user and an identity on the first login', async () => {
    const { user, isNew } = await login();
    expect(isNew).toBe(true);
    expect(user).toMatchObject({ roles: ['user'], status: 'active', lastLoginAt: clock.date() });
    expect(await dataSource.getRepository(User).count()).toBe(1);
    expect(await identities()).toEqual([
      expect.objectContaining({ appid: 'wxapp_one', openid: 'openid-1', unionid: null, userId: user.id }),
    ]);
  });

  it('returns the same user on the next login and keeps only the newest session_key, sealed', async () => {
    const first = await login({ sessionKey: 'first-session-key==' });
    clock.advance(60_000);
    const second = await login({ sessionKey: 'second-session-key==' });

    expect(second.isNew).toBe(false);
    expect(second.user.id).toBe(first.user.id);
    expect(second.user.lastLoginAt).toEqual(clock.date());
    expect(await dataSource.getRepository(User).count()).toBe(1);
    expect(await users.sessionKeyOf('wxapp_one', 'openid-1')).toBe('second-session-key==');

    const rows: { session_key_enc: string }[] = await dataSource.query(
      'SELECT session_key_enc FROM wechat_identities',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].session_key_enc).toMatch(/^v1\./);
    expect(rows[0].session_key_enc).not.toContain('second-session-key');
    expect(rows[0].session_key_enc).not.toContain(Buffer.from('second-session-key==').toString('base64'));
  });

  it('does not select the sealed session_key with the entity by default', async () => {
    await login();
    const [identity] = await identities();
    expect(identity.sessionKeyEnc).toBeUndefined();
  });

  it('has no session_key for an unknown identity', async () => {
    await expect(users.sessionKeyOf('wxapp_one', 'nobody')).resolves.toBeNull();
  });

  it('links a new app’s identity to the existing user with the same unionid', async () => {
    const first = await login({ appid: 'wxapp_one', openid: 'openid-a', unionid: 'union-1' });
    clock.advance(1000);
    const second = await login({ appid: 'wxapp_two', openid: 'openid-b', unionid: 'union-1' });

    expect(second.isNew).toBe(false);
    expect(second.user.id).toBe(first.user.id);
    expect(await dataSource.getRepository(User).count()).toBe(1);
    expect((await identities()).map((i) => [i.appid, i.openid, i.userId])).toEqual([
      ['wxapp_one', 'openid-a', first.user.id],
      ['wxapp_two', 'openid-b', first.user.id],
    ]);
  });

  it('creates a separate user for another app without a shared unionid', async () => {
    const first = await login({ appid: 'wxapp_one', openid: 'openid-a', unionid: 'union-1' });
    const other = await login({ appid: 'wxapp_two', openid: 'openid-b', unionid: 'union-2' });
    expect(other.isNew).toBe(true);
    expect(other.user.id).not.toBe(first.user.id);
  });

  it('records a unionid that a returning identity starts sending, and links by it afterwards', async () => {
    const first = await login({ unionid: undefined });
    await login({ unionid: 'union-late' });
    expect((await identities())[0].unionid).toBe('union-late');

    const linked = await login({ appid: 'wxapp_two', openid: 'openid-2', unionid: 'union-late' });
    expect(linked).toMatchObject({ isNew: false, user: { id: first.user.id } });
  });

  it('never overwrites a unionid already recorded', async () => {
    await login({ unionid: 'union-1' });
    await login({ unionid: 'union-other' });
    expect((await identities())[0].unionid).toBe('union-1');
  });

  it('ends 20 concurrent first logins of one openid with one user and one identity', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login({ sessionKey: `session-key-${i}` })),
    );
    const ids = new Set(results.map((r) => r.user.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.isNew)).toHaveLength(1);
    expect(await dataSource.getRepository(User).count()).toBe(1);
    expect(await identities()).toHaveLength(1);
    expect((await identities())[0].userId).toBe([...ids][0]);
  });

  it('links concurrent first logins from two apps sharing a unionid to one user', async () => {
    const [a, b] = await Promise.all([
      login({ appid: 'wxapp_one', openid: 'openid-a', unionid: 'union-1' }),
      login({ appid: 'wxapp_two', openid: 'openid-b', unionid: 'union-1' }),
    ]);
    expect(b.user.id).toBe(a.user.id);
    expect([a.isNew, b.isNew].sort()).toEqual([false, true]);
    expect(await dataSource.getRepository(User).count()).toBe(1);
    expect(await identities()).toHaveLength(2);
  });

  it('refuses a disabled user with USER_DISABLED', async () => {
    const { user } = await login();
    await dataSource.getRepository(User).update({ id: user.id }, { status: 'disabled' });

    const error = await login().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppException);
    expect((error as AppException).code).toBe('USER_DISABLED');
    expect((error as AppException).getStatus()).toBe(403);
  });

  it('refuses a new identity that links by unionid to a disabled user', async () => {
    const { user } = await login({ unionid: 'union-1' });
    await dataSource.getRepository(User).update({ id: user.id }, { status: 'disabled' });
    await expect(login({ appid: 'wxapp_two', openid: 'openid-2', unionid: 'union-1' })).rejects.toMatchObject(
      {
        code: 'USER_DISABLED',
      },
    );
  });

  it('finds users by id', async () => {
    const { user } = await login();
    await expect(users.findById(user.id)).resolves.toMatchObject({ id: user.id });
    await expect(users.findById('00000000-0000-0000-0000-000000000000')).resolves.toBeNull();
  });
  it('records when the session_key was set, on the first login and on every later one', async () => {
    await login({ sessionKey: 'first==' });
    const [first] = await identities();
    expect(first.sessionKeyUpdatedAt).toEqual(clock.date());
    clock.advance(90_000);
    await login({ sessionKey: 'second==' });
    const [second] = await identities();
    expect(second.sessionKeyUpdatedAt).toEqual(clock.date());
  });

  it('creates an identity without a session_key, and keeps a stored key when a login brings none', async () => {
    const { user } = await login({ sessionKey: undefined });
    await expect(users.identityOf(user.id, 'wxapp_one')).resolves.toEqual({
      openid: 'openid-1',
      unionid: null,
      sessionKey: null,
      sessionKeyUpdatedAt: null,
    });
    await login({ sessionKey: 'key-1==' });
    const keyTime = clock.date();
    clock.advance(1000);
    await login({ sessionKey: undefined });
    await expect(users.identityOf(user.id, 'wxapp_one')).resolves.toMatchObject({
      sessionKey: 'key-1==',
      sessionKeyUpdatedAt: keyTime,
    });
  });

  describe('identityOf', () => {
    it("returns the user's identity in one app with its decrypted session_key", async () => {
      const { user } = await login({
        appid: 'wxapp_one',
        openid: 'o-1',
        unionid: 'u-1',
        sessionKey: 'k-one==',
      });
      await login({ appid: 'wxapp_two', openid: 'o-2', unionid: 'u-1', sessionKey: 'k-two==' });
      await expect(users.identityOf(user.id, 'wxapp_two')).resolves.toEqual({
        openid: 'o-2',
        unionid: 'u-1',
        sessionKey: 'k-two==',
        sessionKeyUpdatedAt: clock.date(),
      });
    });

    it('is null for an app the user never used and for an unknown user', async () => {
      const { user } = await login();
      await expect(users.identityOf(user.id, 'wxapp_two')).resolves.toBeNull();
      await expect(users.identityOf('00000000-0000-0000-0000-000000000000', 'wxapp_one')).resolves.toBeNull();
    });
  });

  describe('retries', () => {
    const deadlock = () =>
      new QueryFailedError('INSERT …', [], Object.assign(new Error('x'), { code: 'ER_LOCK_DEADLOCK' }));
    const duplicate = () =>
      new QueryFailedError('INSERT …', [], Object.assign(new Error('x'), { code: 'ER_DUP_ENTRY' }));
    const lockTimeout = () =>
      new QueryFailedError('UPDATE …', [], Object.assign(new Error('x'), { code: 'ER_LOCK_WAIT_TIMEOUT' }));

    /** A runner whose next transactions fail with the given errors before any work runs. */
    class FailingRunner extends TransactionRunner {
      constructor(
        ds: DataSource,
        readonly failures: Error[],
      ) {
        super(ds, new SystemClock(), new Random());
      }
      override run<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
        const failure = this.failures.shift();
        return failure ? Promise.reject(failure) : super.run(work);
      }
    }

    /** No jitter, so the backoff between deadlock retries is 0 ms of fake time. */
    const noJitter = Object.assign(new Random(), { fraction: () => 0 });
    const withFailures = (failures: Error[], random: Random = noJitter) =>
      createUsersService(dataSource, clock, random, new FailingRunner(dataSource, failures));

    it('backs off with jitter between deadlock retries (capped exponential), through the clock', async () => {
      const sleep = jest.spyOn(clock, 'sleep');
      const half = Object.assign(new Random(), { fraction: () => 0.5 });
      const pending = withFailures(Array.from({ length: 3 }, deadlock), half).resolveIdentity({
        appid: 'wxapp_one',
        openid: 'o-backoff',
        sessionKey: 'k==',
      });
      for (let i = 0; i < 200 && sleep.mock.calls.length < 3; i++) {
        await new Promise((r) => setImmediate(r));
        clock.advance(100);
      }
      await expect(pending).resolves.toMatchObject({ isNew: true });
      expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([10, 20, 40]);
    });

    it('retries up to 5 deadlocks and then succeeds', async () => {
      const service = withFailures(Array.from({ length: 5 }, deadlock));
      await expect(
        service.resolveIdentity({ appid: 'a', openid: 'o', sessionKey: 'k' }),
      ).resolves.toMatchObject({
        isNew: true,
      });
    });

    it('answers a 6th deadlock with 503 DATABASE_UNAVAILABLE (Retry-After 1), never a 500', async () => {
      const service = withFailures(Array.from({ length: 6 }, deadlock));
      const error = await service
        .resolveIdentity({ appid: 'a', openid: 'o', sessionKey: 'k' })
        .catch((e) => e);
      expect(error).toBeInstanceOf(AppException);
      expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', extras: { retryAfter: 1 } });
      expect((error as AppException).getStatus()).toBe(503);
    });

    it('does not spend the deadlock budget on unique violations: those always re-read', async () => {
      // 9 duplicates (U) and 5 deadlocks (D), interleaved: one shared budget of 5 (the old code) failed here.
      const failures = [...'UUDUDUUDUDUUUD'].map((c) => (c === 'D' ? deadlock() : duplicate()));
      const service = withFailures(failures);
      await expect(
        service.resolveIdentity({ appid: 'a', openid: 'o', sessionKey: 'k' }),
      ).resolves.toMatchObject({
        isNew: true,
      });
      expect(await dataSource.getRepository(User).count()).toBe(1);
    });

    it('re-reads the winner after a unique violation, on the returning-login path too', async () => {
      const { user } = await login();
      const service = withFailures([duplicate(), deadlock(), duplicate()]);
      await expect(
        service.resolveIdentity({ appid: 'wxapp_one', openid: 'openid-1', sessionKey: 'k' }),
      ).resolves.toMatchObject({
        isNew: false,
        user: { id: user.id },
      });
    });

    it('answers a lock wait timeout with 503 at once', async () => {
      const service = withFailures([lockTimeout()]);
      await expect(
        service.resolveIdentity({ appid: 'a', openid: 'o', sessionKey: 'k' }),
      ).rejects.toMatchObject({
        code: 'DATABASE_UNAVAILABLE',
      });
    });

    it('passes other errors through', async () => {
      const boom = new Error('boom');
      const service = withFailures([boom]);
      await expect(service.resolveIdentity({ appid: 'a', openid: 'o', sessionKey: 'k' })).rejects.toBe(boom);
    });
  });

  describe('a unionid that appears later (merge)', () => {
    const userRows = () => dataSource.getRepository(User).find({ order: { createdAt: 'ASC' } });
    let logged: string[];

    beforeEach(() => {
      logged = [];
      jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => {
        logged.push(String(message));
      });
    });

    afterEach(() => jest.restoreAllMocks());

    /** Two users: `older` (app one, no unionid yet) and `newer` (app two, holding the unionid). */
    async function twoUsers(): Promise<{ older: User; newer: User }> {
      const older = (await login({ appid: 'wxapp_one', openid: 'o-old' })).user;
      clock.advance(1000);
      const newer = (await login({ appid: 'wxapp_two', openid: 'o-new', unionid: 'u-shared' })).user;
      clock.advance(1000);
      return { older, newer };
    }

    /** Two users with these profile values, then the older one's login with the unionid: the merge's survivor. */
    async function mergedProfiles(
      olderValues: Partial<User>,
      newerValues: Partial<User>,
    ): Promise<{ older: User; user: User }> {
      const { older, newer } = await twoUsers();
      const repo = dataSource.getRepository(User);
      await repo.update({ id: older.id }, olderValues);
      await repo.update({ id: newer.id }, newerValues);
      const { user } = await login({ appid: 'wxapp_one', openid: 'o-old', unionid: 'u-shared' });
      return { older, user };
    }

    it('merges the two users into the older one when the older starts sending the unionid', async () => {
      const { older, newer } = await twoUsers();
      const result = await login({ appid: 'wxapp_one', openid: 'o-old', unionid: 'u-shared' });

      expect(result).toMatchObject({ isNew: false, user: { id: older.id }, mergedUserIds: [newer.id] });
      expect((await userRows()).map((u) => u.id)).toEqual([older.id]);
      expect((await identities()).map((i) => [i.openid, i.unionid, i.userId])).toEqual([
        ['o-old', 'u-shared', older.id],
        ['o-new', 'u-shared', older.id],
      ]);
      await expect(users.findById(newer.id)).resolves.toBeNull();
      expect(logged).toEqual([`merged user(s) ${newer.id} into ${older.id} (shared unionid)`]);
    });

    it('keeps the older user when the newer one starts sending the unionid', async () => {
      const older = (await login({ appid: 'wxapp_one', openid: 'o-old', unionid: 'u-shared' })).user;
      clock.advance(1000);
      const newer = (await login({ appid: 'wxapp_two', openid: 'o-new', unionid: undefined })).user;
      expect(newer.id).not.toBe(older.id);

      const result = await login({ appid: 'wxapp_two', openid: 'o-new', unionid: 'u-shared' });
      expect(result).toMatchObject({ user: { id: older.id }, mergedUserIds: [newer.id] });
      expect((await userRows()).map((u) => u.id)).toEqual([older.id]);
      // The merged-away user's identity now signs in as the survivor.
      await expect(login({ appid: 'wxapp_two', openid: 'o-new' })).resolves.toMatchObject({
        user: { id: older.id },
      });
    });

    it('breaks a created_at tie by the smaller id', async () => {
      const ids = ['bbbbbbbb-0000-4000-8000-000000000000', 'aaaaaaaa-0000-4000-8000-000000000000'];
      const random = new Random();
      // A first login takes two ids, the user's then the identity's.
      const queue = [ids[0], 'identity-1', ids[1], 'identity-2'];
      jest.spyOn(random, 'uuid').mockImplementation(() => queue.shift()!);
      const service = createUsersService(dataSource, clock, random);
      const first = await service.resolveIdentity({ appid: 'wxapp_one', openid: 'o-1', sessionKey: 'k' });
      const second = await service.resolveIdentity({
        appid: 'wxapp_two',
        openid: 'o-2',
        unionid: 'u',
        sessionKey: 'k',
      });
      expect([first.user.id, second.user.id]).toEqual(ids);
      expect(first.user.createdAt).toEqual(second.user.createdAt);

      const merged = await service.resolveIdentity({
        appid: 'wxapp_one',
        openid: 'o-1',
        unionid: 'u',
        sessionKey: 'k',
      });
      expect(merged).toMatchObject({ user: { id: ids[1] }, mergedUserIds: [ids[0]] });
    });

    it('merges the profile: own values first, else the other’s; roles united; phone moved despite its unique index', async () => {
      const { older, user } = await mergedProfiles(
        { nickname: 'Old', avatarUrl: null, roles: ['user', 'editor'] },
        {
          nickname: 'New',
          avatarUrl: 'https://cdn.example.com/n.png',
          phone: '13812345678',
          phoneCountryCode: '86',
          roles: ['user', 'admin'],
        },
      );
      expect(user).toMatchObject({
        id: older.id,
        nickname: 'Old',
        avatarUrl: 'https://cdn.example.com/n.png',
        phone: '13812345678',
        phoneCountryCode: '86',
        roles: ['user', 'editor', 'admin'],
        status: 'active',
        createdAt: older.createdAt,
      });
    });

    it('takes the review flags with a nickname or avatar taken from the other user', async () => {
      const { older, user } = await mergedProfiles(
        { nickname: null, avatarUrl: null },
        {
          nickname: 'Flagged',
          nicknameReview: true,
          avatarUrl: 'https://cdn.example.com/flagged.png',
          avatarReview: true,
        },
      );
      expect(user).toMatchObject({
        id: older.id,
        nickname: 'Flagged',
        nicknameReview: true,
        avatarUrl: 'https://cdn.example.com/flagged.png',
        avatarReview: true,
      });
    });

    it('keeps the survivor’s own values and their flags when the other user’s are flagged', async () => {
      const { user } = await mergedProfiles(
        { nickname: 'Mine', avatarUrl: 'https://cdn.example.com/mine.png' },
        {
          nickname: 'Other',
          nicknameReview: true,
          avatarUrl: 'https://cdn.example.com/o.png',
          avatarReview: true,
        },
      );
      expect(user).toMatchObject({
        nickname: 'Mine',
        nicknameReview: false,
        avatarUrl: 'https://cdn.example.com/mine.png',
        avatarReview: false,
      });
    });

    it('keeps the survivor’s own phone and drops the other’s', async () => {
      const { older, newer } = await twoUsers();
      await users.bindPhone(older.id, { purePhoneNumber: '13800000001', countryCode: '86' });
      await users.bindPhone(newer.id, { purePhoneNumber: '13800000002', countryCode: '86' });
      const { user } = await login({ appid: 'wxapp_one', openid: 'o-old', unionid: 'u-shared' });
      expect(user).toMatchObject({ phone: '13800000001', phoneCountryCode: '86' });
      // The dropped number is free again.
      const third = (await login({ appid: 'wxapp_one', openid: 'o-third' })).user;
      await expect(
        users.bindPhone(third.id, { purePhoneNumber: '13800000002', countryCode: '86' }),
      ).resolves.toMatchObject({ phone: '13800000002' });
    });

    it('disables the survivor when either user was disabled, and refuses the login', async () => {
      const { older, newer } = await twoUsers();
      await dataSource.getRepository(User).update({ id: newer.id }, { status: 'disabled' });
      await expect(login({ appid: 'wxapp_one', openid: 'o-old', unionid: 'u-shared' })).rejects.toMatchObject(
        {
          code: 'USER_DISABLED',
        },
      );
      expect(await userRows()).toEqual([expect.objectContaining({ id: older.id, status: 'disabled' })]);
    });

    it('does not merge when the unionid is already recorded, nor when nobody else holds it', async () => {
      const { older } = await twoUsers();
      const alone = await login({ appid: 'wxapp_one', openid: 'o-old', unionid: 'u-alone' });
      expect(alone.mergedUserIds).toBeUndefined();
      // Recorded now: a different unionid later changes nothing.
      const again = await login({ appid: 'wxapp_one', openid: 'o-old', unionid: 'u-shared' });
      expect(again).toMatchObject({ user: { id: older.id } });
      expect(again.mergedUserIds).toBeUndefined();
      expect(await userRows()).toHaveLength(2);
      expect(logged).toEqual([]);
    });

    it('repairs older data where several users hold one unionid: all become the oldest', async () => {
      const a = (await login({ appid: 'wxapp_one', openid: 'o-a' })).user;
      clock.advance(1000);
      const b = (await login({ appid: 'wxapp_two', openid: 'o-b' })).user;
      clock.advance(1000);
      const c = (await login({ appid: 'wxapp_three', openid: 'o-c' })).user;
      // As the old code left it: two users with the unionid, stored without a merge.
      await dataSource.getRepository(WechatIdentity).update({ openid: 'o-b' }, { unionid: 'u-x' });
      await dataSource.getRepository(WechatIdentity).update({ openid: 'o-c' }, { unionid: 'u-x' });

      const result = await login({ appid: 'wxapp_one', openid: 'o-a', unionid: 'u-x' });
      expect(result.user.id).toBe(a.id);
      // Every merged-away user is reported, so the caller can end all of their sessions.
      expect([...(result.mergedUserIds ?? [])].sort()).toEqual([b.id, c.id].sort());
      expect((await userRows()).map((u) => u.id)).toEqual([a.id]);
      expect(new Set((await identities()).map((i) => i.userId))).toEqual(new Set([a.id]));
    });

    it('consolidates such data when a new app’s identity links by the unionid', async () => {
      const a = (await login({ appid: 'wxapp_one', openid: 'o-a' })).user;
      clock.advance(1000);
      await login({ appid: 'wxapp_two', openid: 'o-b' });
      await dataSource
        .getRepository(WechatIdentity)
        .update({ openid: In(['o-a', 'o-b']) }, { unionid: 'u-x' });

      const linked = await login({ appid: 'wxapp_three', openid: 'o-c', unionid: 'u-x' });
      expect(linked).toMatchObject({ isNew: false, user: { id: a.id } });
      expect((await userRows()).map((u) => u.id)).toEqual([a.id]);
      expect(await identities()).toHaveLength(3);
    });

    it('ends concurrent logins of two users both starting to send one unionid with one user holding it', async () => {
      const a = (await login({ appid: 'wxapp_one', openid: 'o-a' })).user;
      clock.advance(1000);
      const b = (await login({ appid: 'wxapp_two', openid: 'o-b' })).user;
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          login({
            appid: i % 2 ? 'wxapp_one' : 'wxapp_two',
            openid: i % 2 ? 'o-a' : 'o-b',
            unionid: 'u-new',
          }),
        ),
      );
      // Logins that finished before the merge signed in as their own user; one merged; none failed.
      expect(results.filter((r) => r.mergedUserIds)).toEqual([
        expect.objectContaining({ mergedUserIds: [b.id] }),
      ]);
      expect((await userRows()).map((u) => u.id)).toEqual([a.id]);
      expect((await identities()).map((i) => [i.unionid, i.userId])).toEqual([
        ['u-new', a.id],
        ['u-new', a.id],
      ]);
    });
  });

  describe('bindPhone', () => {
    const phone = { purePhoneNumber: '13812345678', countryCode: '86' };

    it('stores the number and its country code, and returns the user', async () => {
      const { user } = await login();
      clock.advance(1000);
      const bound = await users.bindPhone(user.id, { purePhoneNumber: '13812345678', countryCode: '+86' });
      expect(bound).toMatchObject({
        id: user.id,
        phone: '13812345678',
        phoneCountryCode: '86',
        updatedAt: clock.date(),
      });
    });

    it('refuses a number bound to another user with 409 PHONE_IN_USE', async () => {
      const a = (await login({ openid: 'o-a' })).user;
      const b = (await login({ openid: 'o-b' })).user;
      await users.bindPhone(a.id, phone);
      const error = await users.bindPhone(b.id, phone).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppException);
      expect((error as AppException).code).toBe('PHONE_IN_USE');
      expect((error as AppException).getStatus()).toBe(409);
      // The same digits with another country code are another number.
      await expect(users.bindPhone(b.id, { ...phone, countryCode: '852' })).resolves.toMatchObject({
        phoneCountryCode: '852',
      });
    });

    it('binds the same number to the same user again as a no-op', async () => {
      const { user } = await login();
      const first = await users.bindPhone(user.id, phone);
      clock.advance(1000);
      const again = await users.bindPhone(user.id, phone);
      expect(again.updatedAt).toEqual(first.updatedAt);
    });

    it('replaces a number, freeing the old one', async () => {
      const a = (await login({ openid: 'o-a' })).user;
      const b = (await login({ openid: 'o-b' })).user;
      await users.bindPhone(a.id, phone);
      await users.bindPhone(a.id, { purePhoneNumber: '13900000000', countryCode: '86' });
      await expect(users.bindPhone(b.id, phone)).resolves.toMatchObject({ phone: '13812345678' });
    });

    it('lets exactly one of two users binding one number at once win, decided by the unique index', async () => {
      const a = (await login({ openid: 'o-a' })).user;
      const b = (await login({ openid: 'o-b' })).user;
      // Both read "nobody has it" before either writes: only the index can tell them apart.
      const outcomes = await Promise.allSettled([users.bindPhone(a.id, phone), users.bindPhone(b.id, phone)]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const rejected = outcomes.filter((o) => o.status === 'rejected');
      expect(rejected.map((o) => (o.reason as AppException).code)).toEqual(['PHONE_IN_USE']);
      expect(await dataSource.getRepository(User).countBy({ phone: '13812345678' })).toBe(1);
    });

    it('refuses something that is not a phone number, a missing user and a disabled one', async () => {
      const { user } = await login();
      for (const bad of [
        { purePhoneNumber: '138-1234-5678', countryCode: '86' },
        { purePhoneNumber: '', countryCode: '86' },
        { purePhoneNumber: '13812345678', countryCode: '' },
        { purePhoneNumber: '13812345678', countryCode: '86a' },
      ]) {
        await expect(users.bindPhone(user.id, bad)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      }
      await expect(users.bindPhone('00000000-0000-0000-0000-000000000000', phone)).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
      });
      await dataSource.getRepository(User).update({ id: user.id }, { status: 'disabled' });
      await expect(users.bindPhone(user.id, phone)).rejects.toMatchObject({ code: 'USER_DISABLED' });
    });
  });

  describe('updateProfile', () => {
    it('sets, keeps (absent) and clears (null) fields', async () => {
      const { user } = await login();
      await users.updateProfile(user.id, { nickname: '小明👍🏽', avatarUrl: 'https://cdn.example.com/a.png' });
      await expect(users.updateProfile(user.id, { nickname: 'Ming' })).resolves.toMatchObject({
        nickname: 'Ming',
        avatarUrl: 'https://cdn.example.com/a.png',
      });
      await expect(users.updateProfile(user.id, { avatarUrl: null })).resolves.toMatchObject({
        nickname: 'Ming',
        avatarUrl: null,
      });
    });

    it('is null for a missing user', async () => {
      await expect(
        users.updateProfile('00000000-0000-0000-0000-000000000000', { nickname: 'x' }),
      ).resolves.toBeNull();
    });
  });

  describe('the identity graph (kinds, the unionids table, link tickets, unlinking)', () => {
    const owners = () => dataSource.getRepository(UnionidOwner).find({ order: { unionid: 'ASC' } });

    it('stores the kind and the last login of an identity, and who holds its unionid', async () => {
      const { user } = await login({ kind: 'app', appid: 'wxmobile', openid: 'o-app', unionid: 'u-1' });
      const [identity] = await identities();
      expect(identity).toMatchObject({ kind: 'app', lastLoginAt: clock.date() });
      expect(await owners()).toEqual([expect.objectContaining({ unionid: 'u-1', userId: user.id })]);
      clock.advance(5000);
      await login({ kind: 'app', appid: 'wxmobile', openid: 'o-app', unionid: 'u-1' });
      expect((await identities())[0].lastLoginAt).toEqual(clock.date());
      expect(await users.listIdentities(user.id)).toEqual([
        {
          id: identity.id,
          kind: 'app',
          appid: 'wxmobile',
          createdAt: identity.createdAt,
          lastLoginAt: clock.date(),
          hasUnionid: true,
        },
      ]);
    });

    it('fills a new user’s nickname and avatar from the door’s profile, and never overwrites one', async () => {
      const profile = { nickname: 'Alice', avatarUrl: 'https://thirdwx.qlogo.cn/a/132' };
      const created = await login({ kind: 'oa', appid: 'wxoa', openid: 'o-oa', unionid: 'u-p', profile });
      expect(created.user).toMatchObject({ nickname: 'Alice', avatarUrl: profile.avatarUrl });
      const joined = await login({
        kind: 'web',
        appid: 'wxweb',
        openid: 'o-web',
        unionid: 'u-p',
        profile: { nickname: 'Other', avatarUrl: 'https://thirdwx.qlogo.cn/b/132' },
      });
      expect(joined.user).toMatchObject({
        id: created.user.id,
        nickname: 'Alice',
        avatarUrl: profile.avatarUrl,
      });
      const tooLong = await login({
        appid: 'wxoa',
        openid: 'o-long',
        profile: { avatarUrl: `https://x/${'a'.repeat(600)}` },
      });
      expect(tooLong.user.avatarUrl).toBeNull();
    });

    it('links by the unionids table, not by reading identities: its holder gets the new identity', async () => {
      const holder = (await login({ openid: 'o-a' })).user;
      // Only the table says so (as after the winner of a race committed its row).
      await dataSource
        .getRepository(UnionidOwner)
        .insert({ unionid: 'u-table', userId: holder.id, createdAt: clock.date() });
      const joined = await login({ appid: 'wxapp_two', openid: 'o-b', unionid: 'u-table' });
      expect(joined).toMatchObject({ isNew: false, user: { id: holder.id } });
    });

    it('moves the unionid to the survivor of a merge', async () => {
      const older = (await login({ appid: 'wxapp_one', openid: 'o-old' })).user;
      clock.advance(1000);
      await login({ appid: 'wxapp_two', openid: 'o-new', unionid: 'u-m' });
      const merged = await login({ appid: 'wxapp_one', openid: 'o-old', unionid: 'u-m' });
      expect(merged.user.id).toBe(older.id);
      expect(await owners()).toEqual([expect.objectContaining({ unionid: 'u-m', userId: older.id })]);
    });

    it('attaches a new identity to a link ticket’s user, whatever its unionid', async () => {
      const me = (await login({ openid: 'o-me' })).user;
      const linked = await users.resolveIdentity(
        { kind: 'app', appid: 'wxmobile', openid: 'o-app', unionid: 'u-app' },
        { linkToUserId: me.id },
      );
      expect(linked).toMatchObject({ isNew: false, user: { id: me.id } });
      expect(await owners()).toEqual([expect.objectContaining({ unionid: 'u-app', userId: me.id })]);
      // The same identity again with the same user's ticket is an ordinary login.
      await expect(
        users.resolveIdentity({ appid: 'wxmobile', openid: 'o-app' }, { linkToUserId: me.id }),
      ).resolves.toMatchObject({ user: { id: me.id } });
    });

    it('refuses to link an identity, or a unionid, that belongs to another user (IDENTITY_ALREADY_LINKED)', async () => {
      await login({ openid: 'o-other', unionid: 'u-other' });
      const me = (await login({ openid: 'o-me' })).user;
      await expect(
        users.resolveIdentity({ appid: 'wxapp_one', openid: 'o-other' }, { linkToUserId: me.id }),
      ).rejects.toMatchObject({ code: 'IDENTITY_ALREADY_LINKED' });
      await expect(
        users.resolveIdentity(
          { appid: 'wxapp_two', openid: 'o-x', unionid: 'u-other' },
          { linkToUserId: me.id },
        ),
      ).rejects.toMatchObject({ code: 'IDENTITY_ALREADY_LINKED' });
      expect(await identities()).toHaveLength(2);
    });

    it('refuses a ticket whose user is gone with LINK_TICKET_INVALID', async () => {
      await expect(
        users.resolveIdentity(
          { appid: 'wxapp_one', openid: 'o-new' },
          { linkToUserId: '00000000-0000-0000-0000-000000000000' },
        ),
      ).rejects.toMatchObject({ code: 'LINK_TICKET_INVALID' });
      expect(await identities()).toHaveLength(0);
    });

    it('unlinks an identity: not the last one, not another user’s; releases a unionid nothing else carries', async () => {
      const me = (await login({ openid: 'o-mini', unionid: 'u-me' })).user;
      await login({ kind: 'app', appid: 'wxmobile', openid: 'o-app', unionid: 'u-me' });
      const other = (await login({ openid: 'o-other' })).user;
      const [mini, app] = await users.listIdentities(me.id);
      const [others] = await users.listIdentities(other.id);

      await expect(users.removeIdentity(me.id, others.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await users.removeIdentity(me.id, app.id);
      // Another identity still carries the unionid: it stays this user's.
      expect(await owners()).toEqual([expect.objectContaining({ unionid: 'u-me', userId: me.id })]);
      await expect(users.removeIdentity(me.id, mini.id)).rejects.toMatchObject({ code: 'LAST_IDENTITY' });
      await expect(users.removeIdentity(other.id, others.id)).rejects.toMatchObject({
        code: 'LAST_IDENTITY',
      });
    });

    it('releases a unionid that no remaining identity carries: its next login is a new user', async () => {
      const solo = (await login({ kind: 'app', appid: 'wxmobile', openid: 'o-app', unionid: 'u-solo' })).user;
      await users.resolveIdentity({ appid: 'wxapp_one', openid: 'o-mini' }, { linkToUserId: solo.id });
      const app = (await users.listIdentities(solo.id)).find((i) => i.kind === 'app')!;
      await users.removeIdentity(solo.id, app.id);
      expect(await owners()).toEqual([]);
      const next = await login({ appid: 'wxapp_two', openid: 'o-two', unionid: 'u-solo' });
      expect(next.isNew).toBe(true);
      expect(next.user.id).not.toBe(solo.id);
    });

    it('lets two removals at once never leave a user without an identity', async () => {
      const me = (await login({ openid: 'o-1', unionid: 'u-two' })).user;
      await login({ appid: 'wxapp_two', openid: 'o-2', unionid: 'u-two' });
      const [a, b] = await users.listIdentities(me.id);
      const results = await Promise.allSettled([
        users.removeIdentity(me.id, a.id),
        users.removeIdentity(me.id, b.id),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(await users.listIdentities(me.id)).toHaveLength(1);
    });
  });
});
