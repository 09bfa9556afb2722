import request from 'supertest';
import { FakeWechat } from './support/fake-wechat';
import { createTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, type TestDatabase } from './support/test-database';

describe('login rate limit (e2e)', () => {
  let wechat: FakeWechat;
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    db = await createTestDatabase();
    t = await createTestApp({
      databaseUrl: db.url,
      wechatApiBase: wechat.baseUrl,
      env: { LOGIN_RATE_LIMIT: '3' },
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await wechat?.stop();
  });

  it('answers 429 RATE_LIMITED with Retry-After past the limit, without calling WeChat', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await request(t.server).post('/auth/wechat/login').send({ code: wechat.mint() })).status).toBe(
        200,
      );
    }
    const calls = wechat.calls.length;
    const res = await request(t.server).post('/auth/wechat/login').send({ code: wechat.mint() });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(wechat.calls.length).toBe(calls);
  });
});
