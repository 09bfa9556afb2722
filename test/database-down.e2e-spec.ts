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

  it('/health → 503; the log names the dependency (once, not on every probe), the answer does not', async () => {
    const res = await request(t.server).get('/health');
    expect(res.status).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.stringify(res.body)).not.toContain('database');
    await request(t.server).get('/health/ready').expect(503);
    const notReady = t.logs
      .map((l) => JSON.parse(l) as { level: number; msg: string; down?: string[] })
      .filter((l) => l.msg.startsWith('not ready'));
    expect(notReady).toEqual([expect.objectContaining({ level: 40, down: ['database'] })]);
  });
});

/** Nothing WeChat acknowledged is lost: a login whose database write failed completes on retry with the same code. */
describe('database down after WeChat answered (e2e)', () => {
  let wechat: FakeWechat;
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    wechat = await new FakeWechat({ wxapp_one: 'secret-one' }).start();
    db = await createTestDatabase();
    t = await createTestApp({ databaseUrl: db.url, wechatApiBase: wechat.baseUrl });
  });

  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await db?.drop();
    await wechat?.stop();
  });

  it('503 while the database is down, then the same code logs in without calling WeChat again', async () => {
    const ds = t.app.get(DataSource);
    const code = wechat.mint({ openid: 'o-kept-answer' });
    await ds.destroy();
    const failed = await request(t.server).post('/auth/wechat/login').send({ code });
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe('DATABASE_UNAVAILABLE');
    expect(wechat.callsFor(code)).toBe(1);
    // The store holds WeChat's answer sealed, never in clear.
    expect(t.logs.join('\n')).not.toContain('o-kept-answer');

    await ds.initialize();
    const retried = await request(t.server).post('/auth/wechat/login').send({ code });
    expect(retried.status).toBe(200);
    expect(retried.body.user.isNew).toBe(true);
    expect(wechat.callsFor(code)).toBe(1);
    const rows = await ds.query(`SELECT user_id FROM wechat_identities WHERE openid = 'o-kept-answer'`);
    expect(rows).toHaveLength(1);

    // And now it is spent for good.
    const again = await request(t.server).post('/auth/wechat/login').send({ code });
    expect(again.status).toBe(401);
    expect(again.body.code).toBe('WX_CODE_USED');
  });
});
