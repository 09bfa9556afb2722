import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { AccountService } from '../../src/account/account.service';
import { FakeWechat } from '../support/fake-wechat';
import { createTestApp, deleteRedisPrefix, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/** The README's bound: a revocation on one instance stops the token on the other in under 1 s (Redis pub/sub). */
describe('instant revocation across two instances (e2e)', () => {
  const prefix = `wxauth:test:${randomBytes(4).toString('hex')}:`;
  let wechat: FakeWechat;
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let seq = 0;

  const login = async (t: TestApp, openid = `o-rev-${++seq}`) => {
    const res = await request(t.server)
      .post('/auth/wechat/login')
      .send({ code: wechat.mint({ openid }) });
    expect(res.status).toBe(200);
    return { openid, userId: res.body.user.id as string, access: res.body.accessToken as string };
  };
  /** Milliseconds until `b` refuses the token (polling every 10 ms), or Infinity after 3 s. */
  const msUntilRefused = async (t: TestApp, access: string, since: number): Promise<number> => {
    while (Date.now() - since < 3000) {
      const res = await request(t.server).get('/auth/session').set('authorization', `Bearer ${access}`);
      if (res.status === 401) return Date.now() - since;
      await new Promise((r) => setTimeout(r, 10));
    }
    return Infinity;
  };

  beforeAll(async () => {
    wechat = await new FakeWechat({ wxapp_one: 'secret-one' }).start();
    db = await createTestDatabase();
    const opts = { databaseUrl: db.url, wechatApiBase: wechat.baseUrl, env: { REDIS_KEY_PREFIX: prefix } };
    a = await createTestApp(opts);
    b = await createTestApp(opts);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await deleteRedisPrefix(prefix);
    await db?.drop();
    await wechat?.stop();
  });

  it.each([
    [
      'disabling the user',
      (userId: string) => a.app.get(AccountService).setStatus('admin-test', userId, 'disabled'),
    ],
    [
      'changing their roles',
      (userId: string) => a.app.get(AccountService).setRoles('admin-test', userId, ['admin']),
    ],
    ['deleting the account', (userId: string) => a.app.get(AccountService).erase(userId, userId)],
  ])('%s on instance A stops the token on instance B in under 1 s', async (_name, act) => {
    expect(a.config.redis.url).toBeDefined();
    const u = await login(a);
    expect(
      (await request(b.server).get('/auth/session').set('authorization', `Bearer ${u.access}`)).status,
    ).toBe(200);
    const start = Date.now();
    await act(u.userId);
    expect(await msUntilRefused(b, u.access, start)).toBeLessThan(1000);
  });

  it('logout on instance A stops the session token on instance B in under 1 s', async () => {
    const u = await login(a);
    const start = Date.now();
    expect(
      (await request(a.server).post('/auth/logout').set('authorization', `Bearer ${u.access}`).send({}))
        .status,
    ).toBe(204);
    expect(await msUntilRefused(b, u.access, start)).toBeLessThan(1000);
  });

  it('an instance started after a revocation refuses the token too (loaded from Redis at start)', async () => {
    const u = await login(a);
    await a.app.get(AccountService).setStatus('admin-test', u.userId, 'disabled');
    const c = await createTestApp({
      databaseUrl: db.url,
      wechatApiBase: wechat.baseUrl,
      env: { REDIS_KEY_PREFIX: prefix },
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
