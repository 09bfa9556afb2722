import type { DataSource } from 'typeorm';
import { FakeClock } from '../common/clock/fake-clock';
import { AppException } from '../common/errors/app.exception';
import { createInMemoryDataSource, createUsersService } from '../testing/in-memory-database';
import { User } from './user.entity';
import { UsersService, type WechatSession } from './users.service';
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

  const login = (s: Partial<WechatSession> = {}): Promise<{ user: User; isNew: boolean }> =>
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
});
