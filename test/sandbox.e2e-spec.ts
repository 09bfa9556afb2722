import request from 'supertest';
import { freePort } from './support/free-port';
import { createTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/** The README's newcomer walk-through, on the built-in WeChat sandbox (the real client code path, over HTTP). */
describe('WeChat sandbox (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  const http = () => request(t.server);

  beforeAll(async () => {
    db = await createTestDatabase();
    const port = await freePort();
    t = await createTestApp({
      databaseUrl: db.url,
      listen: true,
      env: {
        PORT: String(port),
        WECHAT_SANDBOX: 'true',
        WECHAT_APPID: '',
        WECHAT_SECRET: '',
        WECHAT_APPS: '',
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('mints a code, logs in, calls /users/me, refreshes and logs out', async () => {
    expect(t.config.wechat.apiBase).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sandbox\/wechat$/);
    const minted = await http().post('/sandbox/wechat/codes').send({ openid: 'o-newcomer' });
    expect(minted.status).toBe(201);
    expect(minted.body).toMatchObject({ appid: 'wxsandbox', openid: 'o-newcomer', expiresIn: 300 });

    const login = await http().post('/auth/wechat/login').send({ code: minted.body.code });
    expect(login.status).toBe(200);
    expect(login.body.user.isNew).toBe(true);

    const reused = await http().post('/auth/wechat/login').send({ code: minted.body.code });
    expect(reused.status).toBe(401);
    expect(reused.body.code).toBe('WX_CODE_USED');
    const unknown = await http().post('/auth/wechat/login').send({ code: 'never-minted' });
    expect(unknown.body.code).toBe('WX_CODE_INVALID');

    const me = await http().get('/users/me').set('authorization', `Bearer ${login.body.accessToken}`);
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(login.body.user.id);

    const refreshed = await http().post('/auth/refresh').send({ refreshToken: login.body.refreshToken });
    expect(refreshed.status).toBe(200);
    const out = await http()
      .post('/auth/logout')
      .set('authorization', `Bearer ${refreshed.body.accessToken}`);
    expect(out.status).toBe(204);
    expect(
      (await http().post('/auth/refresh').send({ refreshToken: refreshed.body.refreshToken })).status,
    ).toBe(401);
  });

  it('answers like WeChat for a wrong secret (errcode in an HTTP 200)', async () => {
    const res = await http()
      .get('/sandbox/wechat/sns/jscode2session')
      .query({ appid: 'wxsandbox', secret: 'wrong', js_code: 'x', grant_type: 'authorization_code' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ errcode: 40125 });
  });
});
