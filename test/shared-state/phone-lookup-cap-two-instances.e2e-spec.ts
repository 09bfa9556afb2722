import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { FakeWechat } from '../support/fake-wechat';
import { createTestApp, deleteRedisPrefix, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const PHONE_API = '/wxa/business/getuserphonenumber';

/**
 * The per-person phone cap lives in Redis under the person (a keyed hash of the WeChat ids): an account
 * deleted on one instance and logged in again on the other is still the same person there.
 * Runs in the Redis tier only (`npm run test:mysql`).
 */
describe('phone lookup caps per person across two instances (e2e)', () => {
  const prefix = `wxauth:test:${randomBytes(4).toString('hex')}:`;
  let wechat: FakeWechat;
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    db = await createTestDatabase();
    const opts = {
      databaseUrl: db.url,
      wechatApiBase: wechat.baseUrl,
      env: {
        REDIS_KEY_PREFIX: prefix,
        WECHAT_MAX_RETRIES: '0',
        PHONE_LOOKUPS_PER_USER_PER_DAY: '2',
        PHONE_LOOKUPS_PER_APP_PER_DAY: '1000',
      },
    };
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

  const login = async (t: TestApp, openid: string) => {
    const res = await request(t.server)
      .post('/auth/wechat/login')
      .send({ code: wechat.mint({ openid }) });
    expect(res.status).toBe(200);
    return { token: res.body.accessToken as string, userId: res.body.user.id as string };
  };
  const bind = async (t: TestApp, token: string, openid: string) =>
    request(t.server)
      .post('/auth/wechat/phone')
      .set('authorization', `Bearer ${token}`)
      .send({ code: await wechat.mintPhoneCode({ openid }) });

  it('spent on a, account deleted on a, logged in again on b: still 429 on both, WeChat not called', async () => {
    expect(a.config.redis.url).toBeDefined();
    const openid = 'o-two-cap-person';
    const first = await login(a, openid);
    expect((await bind(a, first.token, openid)).status).toBe(200);
    expect((await bind(b, first.token, openid)).status).toBe(200);
    await request(a.server).delete('/users/me').set('authorization', `Bearer ${first.token}`).expect(204);

    const again = await login(b, openid);
    expect(again.userId).not.toBe(first.userId);
    const before = wechat.callsTo(PHONE_API).length;
    for (const t of [b, a]) {
      const res = await bind(t, again.token, openid);
      expect(res.status).toBe(429);
      expect(res.body.code).toBe('PHONE_RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(wechat.callsTo(PHONE_API).length).toBe(before);
  });
});
