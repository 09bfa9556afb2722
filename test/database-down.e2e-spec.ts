import request from 'supertest';
import { DataSource } from 'typeorm';
import { FakeWechat } from './support/fake-wechat';
import { createTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/** The database going away answers 503 with Retry-After (never a 500 or a stack), and /health says so. */
describe('database down (e2e)', () => {
  let wechat: FakeWechat;
  let db: TestDatabase;
  let t: TestApp;
  let token: string;
  let refreshToken: string;

  beforeAll(async () => {
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    db = await createTestDatabase();
    t = await createTestApp({ databaseUrl: db.url, wechatApiBase: wechat.baseUrl });
    const login = await request(t.server).post('/auth/wechat/login').send({ code: wechat.mint() });
    token = login.body.accessToken;
    refreshToken = login.body.refreshToken;
    await t.app.get(DataSource).destroy();
  });

  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await db?.drop();
    await wechat?.stop();
  });

  it.each([
    ['GET /users/me', () => request(t.server).get('/users/me').set('authorization', `Bearer ${token}`)],
    ['POST /auth/refresh', () => request(t.server).post('/auth/refresh').send({ refreshToken })],
    [
      'POST /auth/wechat/login',
      () => request(t.server).post('/auth/wechat/login').send({ code: wechat.mint() }),
    ],
  ])('%s → 503 DATABASE_UNAVAILABLE with Retry-After', async (_name, call) => {
    const res = await call();
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      statusCode: 503,
      code: 'DATABASE_UNAVAILABLE',
      message: expect.any(String),
      requestId: expect.any(String),
    });
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('the token-only session check still answers', async () => {
    expect(
      (await request(t.server).get('/auth/session').set('authorization', `Bearer ${token}`)).status,
    ).toBe(200);
  });

  it('/health → 503', async () => {
    const res = await request(t.server).get('/health');
    expect(res.status).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });
});
