import type { DataSource } from 'typeorm';
import { FakeClock } from '../common/clock/fake-clock';
import {
  createInMemoryDataSource,
  createUsersService,
  transactionRunnerFor,
} from '../testing/in-memory-database';
import { testConfig } from '../testing/test-config';
import { UserReadCache } from './user-read-cache';
import { User } from './user.entity';
import { UserDirectory } from './user-directory.service';
import type { UsersService } from './users.service';
import { WechatIdentity } from './wechat-identity.entity';

describe('UserReadCache', () => {
  const row = (id: string, nickname: string) => Object.assign(new User(), { id, nickname });

  it('answers from its copy within USER_CACHE_TTL_MS, reads again after it', async () => {
    const clock = new FakeClock();
    const cache = new UserReadCache(testConfig({ USER_CACHE_TTL_MS: '1000' }), clock);
    const load = jest.fn().mockResolvedValueOnce(row('u1', 'a')).mockResolvedValueOnce(row('u1', 'b'));
    expect((await cache.get('u1', load))?.nickname).toBe('a');
    clock.advance(999);
    expect((await cache.get('u1', load))?.nickname).toBe('a');
    expect(load).toHaveBeenCalledTimes(1);
    clock.advance(1);
    expect((await cache.get('u1', load))?.nickname).toBe('b');
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('USER_CACHE_TTL_MS=0 reads every time; a missing user is never kept', async () => {
    const off = new UserReadCache(testConfig({ USER_CACHE_TTL_MS: '0' }), new FakeClock());
    const load = jest.fn().mockResolvedValue(row('u1', 'a'));
    await off.get('u1', load);
    await off.get('u1', load);
    expect(load).toHaveBeenCalledTimes(2);

    const on = new UserReadCache(testConfig(), new FakeClock());
    const missing = jest.fn().mockResolvedValue(null);
    await on.get('u2', missing);
    await on.get('u2', missing);
    expect(missing).toHaveBeenCalledTimes(2);
  });

  it('a write drops the copy (ids compared lowercase), and a read a write overtook is not kept', async () => {
    const cache = new UserReadCache(testConfig(), new FakeClock());
    await cache.get('u1', () => Promise.resolve(row('u1', 'old')));
    cache.invalidate('U1');
    expect((await cache.get('u1', () => Promise.resolve(row('u1', 'new'))))?.nickname).toBe('new');

    // A load that started before a write and ends after it holds the row from before the write.
    let finish!: (u: User) => void;
    const slow = cache.get('u3', () => new Promise<User>((r) => (finish = r)));
    cache.invalidate('u3');
    finish(row('u3', 'before the write'));
    await slow;
    expect((await cache.get('u3', () => Promise.resolve(row('u3', 'after'))))?.nickname).toBe('after');
  });

  it('hands out frozen copies: nobody can change what the next reader gets', async () => {
    const cache = new UserReadCache(testConfig(), new FakeClock());
    const user = await cache.get('u1', () => Promise.resolve(row('u1', 'a')));
    expect(Object.isFrozen(user)).toBe(true);
  });

  describe('wired into the user services (SQLite in memory)', () => {
    let dataSource: DataSource;
    let users: UsersService;
    let directory: UserDirectory;
    let userId: string;

    beforeAll(async () => {
      dataSource = await createInMemoryDataSource();
      const clock = new FakeClock();
      users = createUsersService(dataSource, clock);
      const cache = (users as unknown as { readCache: UserReadCache }).readCache;
      directory = new UserDirectory(
        dataSource.getRepository(User),
        dataSource.getRepository(WechatIdentity),
        transactionRunnerFor(dataSource),
        clock,
        cache,
      );
      ({
        user: { id: userId },
      } = await users.resolveIdentity({
        appid: 'wxapp_one',
        openid: 'o-cache',
        sessionKey: Buffer.alloc(16, 1).toString('base64'),
      }));
    });

    afterAll(() => dataSource.destroy());

    it('every write on this instance shows on the next read: profile, phone, status, roles, erase', async () => {
      await users.findForDisplay(userId);
      await users.updateProfile(userId, { nickname: 'renamed' });
      expect((await users.findForDisplay(userId))?.nickname).toBe('renamed');

      await users.bindPhone(userId, { countryCode: '86', purePhoneNumber: '13800138000' });
      expect((await users.findForDisplay(userId))?.phone).toBe('13800138000');

      // Another admin first: the last active admin cannot be disabled or deleted (LAST_ADMIN).
      const other = await users.resolveIdentity({ appid: 'wxapp_one', openid: 'o-other-admin' });
      await directory.setRoles(other.user.id, ['admin']);
      await directory.setRoles(userId, ['admin']);
      expect((await users.findForDisplay(userId))?.roles).toContain('admin');

      await directory.setStatus(userId, 'disabled');
      expect((await users.findForDisplay(userId))?.status).toBe('disabled');

      await directory.erase(userId);
      expect(await users.findForDisplay(userId)).toBeNull();
    });
  });
});
