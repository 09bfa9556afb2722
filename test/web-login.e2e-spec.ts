import request from 'supertest';
import { DataSource } from 'typeorm';
import { User } from '../src/users/user.entity';
import { createTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { useSandboxApp } from './support/use-test-app';
import { bindingCookie, formOf, fragmentOf, pathOf } from './support/web-login';

const RETURN_TO = 'https://m.example.com/login/done?from=menu';

/**
 * The browser doors (issue 20 §2): Official Account H5 and website QR through the built-in sandbox's pages,
 * followed by hand the way a browser would (each redirect, the cookie, the form), then the ticket redeemed.
 */
describe('web login: Official Account H5 and website QR (e2e)', () => {
  const fx = useSandboxApp({
    apps: 'wxoa:oa-secret-0123:oa,wxweb:web-secret-0123:web',
    env: { OAUTH_RETURN_ORIGINS: 'https://m.example.com, https://www.example.com' },
  });
  const { http } = fx;
  /** Every URL the browser was sent to, and every ticket and token it got: none may be in the other, or in a log. */
  const urls: string[] = [];
  const secrets: string[] = [];

  /** GET /auth/wechat/oauth/authorize → WeChat's page → the form → the callback: where the browser lands. */
  const login = async (opts: {
    appid: string;
    scope?: string;
    persona?: string;
    decision?: 'allow' | 'deny';
    returnTo?: string;
  }) => {
    const query: Record<string, string> = { appid: opts.appid, returnTo: opts.returnTo ?? RETURN_TO };
    if (opts.scope) query.scope = opts.scope;
    const start = await http().get('/auth/wechat/oauth/authorize').query(query);
    expect(start.status).toBe(302);
    const cookie = bindingCookie(start);
    urls.push(start.headers.location);
    const page = await http().get(pathOf(start.headers.location));
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const { action, fields } = formOf(page.text);
    fields.set('persona', opts.persona ?? 'alice');
    fields.set('decision', opts.decision ?? 'allow');
    const approved = await http().get(`${action}?${fields}`);
    expect(approved.status).toBe(302);
    urls.push(approved.headers.location);
    const callback = pathOf(approved.headers.location);
    const done = await http().get(callback).set('cookie', cookie);
    expect(done.status).toBe(302);
    urls.push(done.headers.location);
    return { location: done.headers.location as string, callback, cookie, state: fields.get('state')! };
  };

  const redeem = async (location: string) => {
    const ticket = fragmentOf(location).get('ticket');
    expect(ticket).toBeTruthy();
    secrets.push(ticket!);
    const res = await http().post('/auth/tickets/redeem').send({ ticket });
    if (res.status === 200) secrets.push(res.body.accessToken, res.body.refreshToken);
    return res;
  };

  const userCount = () => fx.t.app.get(DataSource).getRepository(User).count();

  it('an oa appid is sent to /connect/oauth2/authorize, a web appid to /connect/qrconnect, with the cookie', async () => {
    const base = fx.t.config.webOAuth.openBase;
    // In the sandbox WECHAT_OPEN_BASE defaults to this service's own pages.
    expect(base).toBe(`http://127.0.0.1:${fx.t.config.port}/sandbox/wechat`);
    const oa = await http()
      .get('/auth/wechat/oauth/authorize')
      .query({ appid: 'wxoa', scope: 'snsapi_userinfo', returnTo: RETURN_TO });
    expect(oa.status).toBe(302);
    expect(oa.headers['cache-control']).toBe('no-store');
    expect(oa.headers.location).toMatch(
      new RegExp(
        `^${base.replace(/[.]/g, '\\.')}/connect/oauth2/authorize\\?appid=wxoa&redirect_uri=[^&]+` +
          '&response_type=code&scope=snsapi_userinfo&state=[A-Za-z0-9_-]{43}&connect_redirect=1#wechat_redirect$',
      ),
    );
    const redirectUri = new URL(oa.headers.location).searchParams.get('redirect_uri')!;
    expect(redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/auth\/wechat\/oauth\/callback$/);
    const cookie = ([] as string[]).concat(oa.headers['set-cookie'])[0];
    expect(cookie).toMatch(
      /^wxauth_oauth=[A-Za-z0-9_-]{43}; Path=\/auth\/wechat\/oauth; Max-Age=600; HttpOnly; SameSite=Lax$/,
    );

    const web = await http()
      .get('/auth/wechat/oauth/authorize')
      .query({ appid: 'wxweb', returnTo: RETURN_TO });
    expect(web.status).toBe(302);
    expect(web.headers.location).toMatch(
      /\/connect\/qrconnect\?appid=wxweb&redirect_uri=[^&]+&response_type=code&scope=snsapi_login&state=[A-Za-z0-9_-]{43}#wechat_redirect$/,
    );
    // The same browser keeps its binding: two tabs logging in at once both work.
    const again = await http()
      .get('/auth/wechat/oauth/authorize')
      .set('cookie', bindingCookie(oa))
      .query({ appid: 'wxweb', returnTo: RETURN_TO });
    expect(bindingCookie(again)).toBe(bindingCookie(oa));
  });

  it('refuses returnTo outside OAUTH_RETURN_ORIGINS, appids of other kinds and wrong scopes', async () => {
    for (const returnTo of [
      'https://evil.example.com/',
      'https://m.example.com.evil.com/',
      'http://m.example.com/', // another scheme is another origin
      'https://user@m.example.com/',
      '/login/done',
      'javascript:alert(1)',
    ]) {
      const res = await http()
        .get('/auth/wechat/oauth/authorize')
        .query({ appid: 'wxoa', scope: 'snsapi_base', returnTo });
      expect([returnTo, res.status, res.body.code]).toEqual([returnTo, 400, 'RETURN_TO_NOT_ALLOWED']);
    }
    // The sandbox's default mini program, and an unknown appid.
    for (const appid of ['wxsandbox', 'wxnope']) {
      const res = await http()
        .get('/auth/wechat/oauth/authorize')
        .query({ appid, scope: 'snsapi_base', returnTo: RETURN_TO });
      expect([appid, res.status, res.body.code]).toEqual([appid, 400, 'UNKNOWN_APPID']);
    }
    const embedOa = await http()
      .get('/auth/wechat/oauth/embed-config')
      .query({ appid: 'wxoa', returnTo: RETURN_TO });
    expect(embedOa.body.code).toBe('UNKNOWN_APPID');
    const noScope = await http()
      .get('/auth/wechat/oauth/authorize')
      .query({ appid: 'wxoa', returnTo: RETURN_TO });
    expect([noScope.status, noScope.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const loginScopeOnOa = await http()
      .get('/auth/wechat/oauth/authorize')
      .query({ appid: 'wxoa', scope: 'snsapi_login', returnTo: RETURN_TO });
    expect(loginScopeOnOa.body.code).toBe('VALIDATION_FAILED');
  });

  it('Official Account (snsapi_userinfo) and website QR with one unionid are one user; the ticket works once', async () => {
    const oa = await login({ appid: 'wxoa', scope: 'snsapi_userinfo', persona: 'alice' });
    expect(oa.location.startsWith('https://m.example.com/login/done?from=menu#ticket=')).toBe(true);
    const first = await redeem(oa.location);
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.body).toMatchObject({
      tokenType: 'Bearer',
      user: { nickname: 'Alice', avatarUrl: 'https://thirdwx.qlogo.cn/sandbox/alice/132', isNew: true },
    });
    const spent = await http()
      .post('/auth/tickets/redeem')
      .send({ ticket: fragmentOf(oa.location).get('ticket') });
    expect([spent.status, spent.body.code]).toEqual([401, 'TICKET_INVALID']);

    const me = await http().get('/users/me').set('authorization', `Bearer ${first.body.accessToken}`);
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(first.body.user.id);

    const web = await login({ appid: 'wxweb', persona: 'alice' });
    const second = await redeem(web.location);
    expect(second.status).toBe(200);
    expect(second.body.user).toMatchObject({ id: first.body.user.id, isNew: false });
  });

  it('snsapi_base logs in silently-scoped users (openid only); another persona is another user', async () => {
    const base = await login({ appid: 'wxoa', scope: 'snsapi_base', persona: 'bob' });
    const res = await redeem(base.location);
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ nickname: null, avatarUrl: null, isNew: true });
  });

  it('a declined authorization comes back as #error=ACCESS_DENIED; a snapshot visitor as SNAPSHOT_USER, no user', async () => {
    const declined = await login({ appid: 'wxoa', scope: 'snsapi_userinfo', decision: 'deny' });
    expect(declined.location).toBe('https://m.example.com/login/done?from=menu#error=ACCESS_DENIED');
    const before = await userCount();
    const snapshot = await login({ appid: 'wxoa', scope: 'snsapi_userinfo', persona: 'snapshot' });
    expect(snapshot.location).toBe('https://m.example.com/login/done?from=menu#error=SNAPSHOT_USER');
    expect(await userCount()).toBe(before);
  });

  it('state: missing, unknown, cookie-less or another browser → 400 STATE_INVALID; a repeat gets the same answer', async () => {
    const start = await http()
      .get('/auth/wechat/oauth/authorize')
      .query({ appid: 'wxweb', returnTo: 'https://www.example.com/' });
    const cookie = bindingCookie(start);
    const { action, fields } = formOf((await http().get(pathOf(start.headers.location))).text);
    fields.set('persona', 'carol');
    fields.set('decision', 'allow');
    const callback = pathOf((await http().get(`${action}?${fields}`)).headers.location);
    const code = new URLSearchParams(callback.split('?')[1]).get('code')!;

    const refused = [
      await http().get('/auth/wechat/oauth/callback').query({ code }).set('cookie', cookie),
      await http()
        .get('/auth/wechat/oauth/callback')
        .query({ code, state: 'x'.repeat(43) })
        .set('cookie', cookie),
      await http().get(callback),
      await http()
        .get(callback)
        .set('cookie', `wxauth_oauth=${'A'.repeat(43)}`),
    ];
    for (const res of refused) {
      expect([res.status, res.body.code]).toEqual([400, 'STATE_INVALID']);
      expect(res.headers.location).toBeUndefined();
    }
    // The refusals did not spend the state: its own browser still finishes the login.
    const [done, repeat] = [
      await http().get(callback).set('cookie', cookie),
      await http().get(callback).set('cookie', cookie),
    ];
    expect(done.status).toBe(302);
    expect(fragmentOf(done.headers.location).get('ticket')).toBeTruthy();
    // WeChat's double delivery: the same redirect, and WeChat not asked again (the code would be 40163).
    expect(repeat.status).toBe(302);
    expect(repeat.headers.location).toBe(done.headers.location);
    // …but only for the same browser.
    const stranger = await http()
      .get(callback)
      .set('cookie', `wxauth_oauth=${'B'.repeat(43)}`);
    expect(stranger.body.code).toBe('STATE_INVALID');
    expect((await redeem(done.headers.location)).status).toBe(200);
    // Once redeemed, a repeat still redirects to the same (now spent) ticket: nothing new is minted.
    const late = await http().get(callback).set('cookie', cookie);
    expect(late.headers.location).toBe(done.headers.location);
  });

  it('two callbacks of one state at once: one exchange, the same redirect for both', async () => {
    const start = await http()
      .get('/auth/wechat/oauth/authorize')
      .query({ appid: 'wxoa', scope: 'snsapi_userinfo', returnTo: RETURN_TO });
    const cookie = bindingCookie(start);
    const { action, fields } = formOf((await http().get(pathOf(start.headers.location))).text);
    fields.set('persona', 'alice');
    fields.set('decision', 'allow');
    const callback = pathOf((await http().get(`${action}?${fields}`)).headers.location);
    const both = await Promise.all([1, 2].map(() => http().get(callback).set('cookie', cookie)));
    expect(both.map((r) => r.status)).toEqual([302, 302]);
    expect(both[0].headers.location).toBe(both[1].headers.location);
    expect(fragmentOf(both[0].headers.location).get('ticket')).toBeTruthy();
    expect((await redeem(both[0].headers.location)).status).toBe(200);
  });

  it('the sandbox page can deliver the callback twice (background request, then navigation)', async () => {
    const start = await http()
      .get('/auth/wechat/oauth/authorize')
      .query({ appid: 'wxweb', returnTo: RETURN_TO });
    const { action, fields } = formOf((await http().get(pathOf(start.headers.location))).text);
    fields.set('persona', 'alice');
    fields.set('decision', 'allow');
    fields.set('twice', '1');
    const page = await http().get(`${action}?${fields}`);
    expect(page.status).toBe(200);
    const url = /<img src="([^"]+)"/
      .exec(page.text)![1]
      .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
    expect(page.text).toContain(`<meta http-equiv="refresh" content="1;url=`);
    expect(page.headers['content-security-policy']).toContain(`img-src http://127.0.0.1:${fx.t.config.port}`);
    const cookie = bindingCookie(start);
    const first = await http().get(pathOf(url)).set('cookie', cookie);
    const second = await http().get(pathOf(url)).set('cookie', cookie);
    expect(second.headers.location).toBe(first.headers.location);
  });

  it('embed-config gives wxLogin.js its arguments and binds the state like authorize', async () => {
    const res = await http()
      .get('/auth/wechat/oauth/embed-config')
      .query({ appid: 'wxweb', returnTo: RETURN_TO });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      appid: 'wxweb',
      scope: 'snsapi_login',
      redirect_uri: `http://127.0.0.1:${fx.t.config.port}/auth/wechat/oauth/callback`,
      state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    // What the embedded QR does: WeChat's page with those arguments, then the callback in this browser.
    const approved = await http()
      .get('/sandbox/wechat/connect/approve')
      .query({ ...res.body, persona: 'alice', decision: 'allow' });
    const done = await http().get(pathOf(approved.headers.location)).set('cookie', bindingCookie(res));
    expect((await redeem(done.headers.location)).status).toBe(200);
  });

  it('first logins of one person through three doors at once (mini program, Official Account, website QR): one user', async () => {
    const persona = 'dora';
    /** A browser's callback, prepared up to WeChat's redirect (not followed yet). */
    const prepared = async (appid: string, scope?: string) => {
      const start = await http()
        .get('/auth/wechat/oauth/authorize')
        .query({ appid, returnTo: RETURN_TO, ...(scope ? { scope } : {}) });
      const { action, fields } = formOf((await http().get(pathOf(start.headers.location))).text);
      fields.set('persona', persona);
      fields.set('decision', 'allow');
      const callback = pathOf((await http().get(`${action}?${fields}`)).headers.location);
      return { callback, cookie: bindingCookie(start) };
    };
    const [oa, web] = [await prepared('wxoa', 'snsapi_userinfo'), await prepared('wxweb')];
    const minted = await http()
      .post('/sandbox/wechat/codes')
      .send({ openid: 'o-dora-miniprogram', unionid: 'u_sandbox_dora' });
    expect(minted.status).toBe(201);
    const before = await userCount();
    const [mp, oaDone, webDone] = await Promise.all([
      http().post('/auth/wechat/login').send({ code: minted.body.code }),
      http().get(oa.callback).set('cookie', oa.cookie),
      http().get(web.callback).set('cookie', web.cookie),
    ]);
    expect(mp.status).toBe(200);
    secrets.push(mp.body.accessToken, mp.body.refreshToken);
    const [a, b] = [await redeem(oaDone.headers.location), await redeem(webDone.headers.location)];
    expect([a.status, b.status]).toEqual([200, 200]);
    // After a merge the survivor is the one user: every door answers for it, and one user was added.
    const me = async (token: string) =>
      (await http().get('/users/me').set('authorization', `Bearer ${token}`)).body.id as string;
    const ids = new Set([
      await me(mp.body.accessToken),
      await me(a.body.accessToken),
      await me(b.body.accessToken),
    ]);
    expect(ids.size).toBe(1);
    expect(await userCount()).toBe(before + 1);
  });

  it('two redemptions of one ticket at once: exactly one wins', async () => {
    const { location } = await login({ appid: 'wxoa', scope: 'snsapi_userinfo', persona: 'alice' });
    const ticket = fragmentOf(location).get('ticket');
    secrets.push(ticket!);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => http().post('/auth/tickets/redeem').send({ ticket })),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401]);
    for (const r of answers) if (r.status === 200) secrets.push(r.body.accessToken, r.body.refreshToken);
    const invalid = await http().post('/auth/tickets/redeem').send({ ticket: 'not-a-ticket' });
    expect([invalid.status, invalid.body.code]).toEqual([401, 'TICKET_INVALID']);
  });

  it('no ticket or token in any log line, no token in any URL', () => {
    expect(secrets.length).toBeGreaterThan(10);
    const logs = fx.t.logs.join('\n');
    const tokens = secrets.filter((s) => s.length > 43);
    for (const s of secrets) expect(logs.includes(s)).toBe(false);
    for (const url of urls) for (const s of tokens) expect(url.includes(s)).toBe(false);
    // Codes travel only in the callback's query string, which the access log leaves out.
    expect(logs).not.toMatch(/oauth\/callback\?/);
  });
});

describe('web login rate limit (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await createTestApp({
      databaseUrl: db.url,
      env: {
        LOGIN_RATE_LIMIT: '2',
        WECHAT_APPS: 'wxoa:oa-secret-0123:oa',
        OAUTH_RETURN_ORIGINS: 'https://m.example.com',
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('starting logins and redeeming tickets are limited per client like the mini-program login', async () => {
    const start = () =>
      request(t.server)
        .get('/auth/wechat/oauth/authorize')
        .query({ appid: 'wxoa', scope: 'snsapi_base', returnTo: RETURN_TO });
    expect([(await start()).status, (await start()).status]).toEqual([302, 302]);
    const limited = await start();
    expect([limited.status, limited.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect(limited.headers['retry-after']).toBeDefined();
    const redeem = () =>
      request(t.server)
        .post('/auth/tickets/redeem')
        .send({ ticket: 'x'.repeat(43) });
    expect([(await redeem()).status, (await redeem()).status, (await redeem()).status]).toEqual([
      401, 401, 429,
    ]);
  });
});
