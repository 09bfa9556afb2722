import request from 'supertest';
import { AccountService } from '../../src/account/account.service';
import { createTestApp, type TestApp } from '../support/test-app';
import { useTwoInstances } from '../support/use-two-instances';

/** The README's bound: a revocation on one instance stops the token on the other in under 1 s (Redis pub/sub). */
describe('instant revocation across two instances (e2e)', () => {
  const two = useTwoInstances({ apps: { wxapp_one: 'secret-one' } });
  /** Milliseconds until `b` refuses the token (polling every 10 ms), or Infinity after 3 s. */
  const msUntilRefused = async (t: TestApp, access: string, since: number): Promise<number> => {
    while (Date.now() - since < 3000) {
      const res = await request(t.server).get('/auth/session').set('authorization', `Bearer ${access}`);
      if (res.status === 401) return Date.now() - since;
      await new Promise((r) => setTimeout(r, 10));
    }
    return Infinity;
  };

  it.each([
    [
      'disabling the user',
      (userId: string) => two.a.app.get(AccountService).setStatus('admin-test', userId, 'disabled'),
    ],
    [
      'changing their roles',
      (userId: string) => two.a.app.get(AccountService).setRoles('admin-test', userId, ['admin']),
    ],
    ['deleting the account', (userId: string) => two.a.app.get(AccountService).erase(userId, userId)],
  ])('%s on instance A stops the token on instance B in under 1 s', async (_name, act) => {
    expect(two.a.config.redis.url).toBeDefined();
    const u = await two.login(two.a);
    expect(
      (await request(two.b.server).get('/auth/session').set('authorization', `Bearer ${u.access}`)).status,
    ).toBe(200);
    const start = Date.now();
    await act(u.userId);
    expect(await msUntilRefused(two.b, u.access, start)).toBeLessThan(1000);
  });

  it('logout on instance A stops the session token on instance B in under 1 s', async () => {
    const u = await two.login(two.a);
    const start = Date.now();
    expect(
      (await request(two.a.server).post('/auth/logout').set('authorization', `Bearer ${u.access}`).send({}))
        .status,
    ).toBe(204);
    expect(await msUntilRefused(two.b, u.access, start)).toBeLessThan(1000);
  });

  it('an instance started after a revocation refuses the token too (loaded from Redis at start)', async () => {
    const u = await two.login(two.a);
    await two.a.app.get(AccountService).setStatus('admin-test', u.userId, 'disabled');
    const c = await createTestApp({
      databaseUrl: two.db.url,
      wechatApiBase: two.wechat.baseUrl,
      env: { REDIS_KEY_PREFIX: two.prefix },
    });
    try {
      expect(
        (await request(c.server).get('/auth/session').set('authorization', `Bearer ${u.access}`)).status,
      ).toBe(401);
    } finally {
      await c.close();
    }
  });
});
