import request from 'supertest';
import { createTestApp, type TestApp } from './support/test-app';
import { useTestApp } from './support/use-test-app';

const APPS = { wxapp_one: 'secret-one', wxapp_two: 'secret-two', wxmobile: 'secret-mobile' };

/**
 * The identity graph from outside (issue 20 §1, §3): the mobile-app door, kinds, one user per unionid across
 * doors, the identities API and link tickets. SQLite by default; TEST_DB=mariadb TEST_REDIS=1 for the real
 * locks and the shared store.
 */
describe('identities and the mobile-app login', () => {
  const f = useTestApp({
    apps: APPS,
    env: { WECHAT_APPS: 'wxapp_two:secret-two,wxmobile:secret-mobile:app' },
  });
  let seq = 0;
  const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

  const appLogin = (body: Record<string, unknown>) => f.http().post('/auth/wechat/app/login').send(body);
  const miniLogin = (body: Record<string, unknown>) => f.http().post('/auth/wechat/login').send(body);
  const identities = (access: string) =>
    f.http().get('/users/me/identities').set('Authorization', `Bearer ${access}`);
  const linkTicket = async (access: string): Promise<string> => {
    const res = await f
      .http()
      .post('/users/me/identities/link-ticket')
      .set('Authorization', `Bearer ${access}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ linkTicket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresIn: 300 });
    expect(res.headers['cache-control']).toContain('no-store');
    return res.body.linkTicket as string;
  };

  describe('POST /auth/wechat/app/login', () => {
    it('exchanges the SDK code at /sns/oauth2/access_token and answers like the mini-program login', async () => {
      const openid = unique('o-app');
      const code = f.wechat.mintAppCode({ appid: 'wxmobile', openid, unionid: unique('u') });
      const res = await appLogin({ appid: 'wxmobile', code });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        accessToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: expect.any(Number),
        refreshToken: expect.any(String),
        refreshExpiresIn: expect.any(Number),
        user: { id: expect.any(String), nickname: null, avatarUrl: null, isNew: true },
      });
      const [call] = f.wechat.callsTo('/sns/oauth2/access_token').filter((c) => c.query.get('code') === code);
      expect(Object.fromEntries(call.query)).toEqual({
        appid: 'wxmobile',
        secret: 'secret-mobile',
        code,
        grant_type: 'authorization_code',
      });

      const list = await identities(res.body.accessToken);
      expect(list.status).toBe(200);
      expect(list.body).toEqual([
        {
          id: expect.any(String),
          kind: 'app',
          appid: 'wxmobile',
          createdAt: expect.any(String),
          lastLoginAt: expect.any(String),
          hasUnionid: true,
        },
      ]);
      expect(list.text).not.toContain(openid);
    });

    it('answers a replayed code 401 WX_CODE_USED without asking WeChat again', async () => {
      const code = f.wechat.mintAppCode({ appid: 'wxmobile', openid: unique('o-app') });
      expect((await appLogin({ appid: 'wxmobile', code })).status).toBe(200);
      const replay = await appLogin({ appid: 'wxmobile', code });
      expect(replay.status).toBe(401);
      expect(replay.body.code).toBe('WX_CODE_USED');
      expect(f.wechat.callsFor(code)).toBe(1);
    });

    it('refuses an appid of another kind with 400 UNKNOWN_APPID, at both doors, before WeChat', async () => {
      const before = f.wechat.calls.length;
      const asApp = await appLogin({ appid: 'wxapp_one', code: 'abcdefgh' });
      expect(asApp.status).toBe(400);
      expect(asApp.body.code).toBe('UNKNOWN_APPID');
      const asMini = await miniLogin({ appid: 'wxmobile', code: 'abcdefgh' });
      expect(asMini.status).toBe(400);
      expect(asMini.body.code).toBe('UNKNOWN_APPID');
      expect(f.wechat.calls.length).toBe(before);
    });

    it('is rate-limited per client IP like the mini-program login (LOGIN_RATE_LIMIT), before WeChat', async () => {
      const limited = await createTestApp({
        databaseUrl: f.db.url,
        wechatApiBase: f.wechat.baseUrl,
        env: { WECHAT_APPS: 'wxmobile:secret-mobile:app', LOGIN_RATE_LIMIT: '2' },
      });
      try {
        const before = f.wechat.calls.length;
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++) {
          const res = await request(limited.server)
            .post('/auth/wechat/app/login')
            .send({ appid: 'wxmobile', code: `unknown-code-${i}` });
          statuses.push(res.status);
          if (res.status === 429) expect(res.headers['retry-after']).toMatch(/^\d+$/);
        }
        expect(statuses).toEqual([401, 401, 429]);
        expect(f.wechat.calls.length).toBe(before + 2);
      } finally {
        await limited.close();
      }
    });

    it('validates the body (appid required)', async () => {
      const res = await appLogin({ code: 'abcdefgh' });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('one person, one user', () => {
    it('ends concurrent first logins through the mini program and the app with one unionid as one user', async () => {
      for (let round = 0; round < 5; round++) {
        const unionid = unique('u-race');
        const [mini, app, mini2] = await Promise.all([
          miniLogin({ code: f.wechat.mint({ openid: unique('o-mini'), unionid }) }),
          appLogin({
            appid: 'wxmobile',
            code: f.wechat.mintAppCode({ appid: 'wxmobile', openid: unique('o-app'), unionid }),
          }),
          miniLogin({
            appid: 'wxapp_two',
            code: f.wechat.mint({ appid: 'wxapp_two', openid: unique('o-two'), unionid }),
          }),
        ]);
        expect([mini.status, app.status, mini2.status]).toEqual([200, 200, 200]);
        expect(new Set([mini.body.user.id, app.body.user.id, mini2.body.user.id]).size).toBe(1);
        expect(
          [mini.body.user.isNew, app.body.user.isNew, mini2.body.user.isNew].filter(Boolean),
        ).toHaveLength(1);
        const list = await identities(app.body.accessToken);
        expect(list.body.map((i: { kind: string }) => i.kind).sort()).toEqual([
          'app',
          'miniprogram',
          'miniprogram',
        ]);
      }
    });
  });

  describe('across two instances (one database, one shared store)', () => {
    let second: TestApp;

    beforeAll(async () => {
      second = await createTestApp({
        databaseUrl: f.db.url,
        wechatApiBase: f.wechat.baseUrl,
        env: {
          WECHAT_APPS: 'wxapp_two:secret-two,wxmobile:secret-mobile:app',
          ...(f.t.config.redis.url ? { REDIS_KEY_PREFIX: f.t.config.redis.keyPrefix } : {}),
        },
      });
    });

    afterAll(async () => {
      await second?.close();
    });

    it('ends first logins through two doors on two instances with one unionid as one user', async () => {
      for (let round = 0; round < 5; round++) {
        const unionid = unique('u-two-instances');
        const [mini, app] = await Promise.all([
          miniLogin({ code: f.wechat.mint({ openid: unique('o-mini'), unionid }) }),
          request(second.server)
            .post('/auth/wechat/app/login')
            .send({
              appid: 'wxmobile',
              code: f.wechat.mintAppCode({ appid: 'wxmobile', openid: unique('o-app'), unionid }),
            }),
        ]);
        expect([mini.status, app.status]).toEqual([200, 200]);
        expect(app.body.user.id).toBe(mini.body.user.id);
      }
    });

    it('redeems a link ticket issued on one instance on the other, once', async () => {
      const me = await f.login();
      const ticket = await linkTicket(me.access);
      const code = () => f.wechat.mintAppCode({ appid: 'wxmobile', openid: unique('o-app') });
      const [here, there] = await Promise.all([
        appLogin({ appid: 'wxmobile', code: code(), linkTicket: ticket }),
        request(second.server)
          .post('/auth/wechat/app/login')
          .send({ appid: 'wxmobile', code: code(), linkTicket: ticket }),
      ]);
      if (f.t.config.redis.url) {
        // One shared store: exactly one of the two redemptions wins.
        expect([here.status, there.status].sort()).toEqual([200, 401]);
      } else {
        // Without Redis each instance has its own store: the ticket is only known where it was issued.
        expect([here.status, there.status]).toEqual([200, 401]);
      }
    });
  });

  describe('/users/me/identities', () => {
    it('unlinks an identity (204), refuses the last one (409 LAST_IDENTITY) and another user’s (404)', async () => {
      const unionid = unique('u-del');
      const mini = await miniLogin({ code: f.wechat.mint({ openid: unique('o-mini'), unionid }) });
      const app = await appLogin({
        appid: 'wxmobile',
        code: f.wechat.mintAppCode({ appid: 'wxmobile', openid: unique('o-app'), unionid }),
      });
      expect(app.body.user.id).toBe(mini.body.user.id);
      const access = app.body.accessToken as string;
      const list = (await identities(access)).body as { id: string; kind: string }[];
      expect(list).toHaveLength(2);

      const stranger = await f.login();
      const strangers = (await identities(stranger.access)).body as { id: string }[];
      const foreign = await f
        .http()
        .delete(`/users/me/identities/${strangers[0].id}`)
        .set('Authorization', `Bearer ${access}`);
      expect(foreign.status).toBe(404);
      expect(foreign.body.code).toBe('NOT_FOUND');

      const appIdentity = list.find((i) => i.kind === 'app')!;
      const removed = await f
        .http()
        .delete(`/users/me/identities/${appIdentity.id}`)
        .set('Authorization', `Bearer ${access}`);
      expect(removed.status).toBe(204);
      const left = (await identities(access)).body as { id: string; kind: string }[];
      expect(left.map((i) => i.kind)).toEqual(['miniprogram']);

      const last = await f
        .http()
        .delete(`/users/me/identities/${left[0].id}`)
        .set('Authorization', `Bearer ${access}`);
      expect(last.status).toBe(409);
      expect(last.body.code).toBe('LAST_IDENTITY');
      expect((await identities(stranger.access)).body).toHaveLength(1);
    });

    it('needs a token', async () => {
      expect((await f.http().get('/users/me/identities')).status).toBe(401);
      expect((await f.http().post('/users/me/identities/link-ticket')).status).toBe(401);
    });
  });

  describe('link tickets', () => {
    it('attach a door without a shared unionid to the signed-in user, once', async () => {
      const me = await f.login();
      const ticket = await linkTicket(me.access);
      const code = f.wechat.mintAppCode({
        appid: 'wxmobile',
        openid: unique('o-app'),
        unionid: unique('u-other'),
      });
      const linked = await appLogin({ appid: 'wxmobile', code, linkTicket: ticket });
      expect(linked.status).toBe(200);
      expect(linked.body.user).toMatchObject({ id: me.userId, isNew: false });
      const kinds = ((await identities(me.access)).body as { kind: string }[]).map((i) => i.kind);
      expect(kinds.sort()).toEqual(['app', 'miniprogram']);

      // Spent: a second login with it is refused, whoever's code it carries.
      const again = await miniLogin({
        code: f.wechat.mint({ openid: unique('o-mini') }),
        linkTicket: ticket,
      });
      expect(again.status).toBe(401);
      expect(again.body.code).toBe('LINK_TICKET_INVALID');
    });

    it('let exactly one of two logins redeeming one ticket at once win', async () => {
      const me = await f.login();
      const ticket = await linkTicket(me.access);
      const results = await Promise.all([
        appLogin({
          appid: 'wxmobile',
          code: f.wechat.mintAppCode({ appid: 'wxmobile', openid: unique('o-app') }),
          linkTicket: ticket,
        }),
        miniLogin({
          appid: 'wxapp_two',
          code: f.wechat.mint({ appid: 'wxapp_two', openid: unique('o-two') }),
          linkTicket: ticket,
        }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
      expect(results.find((r) => r.status === 401)!.body.code).toBe('LINK_TICKET_INVALID');
      expect(results.find((r) => r.status === 200)!.body.user.id).toBe(me.userId);
      expect((await identities(me.access)).body).toHaveLength(2);
    });

    it('refuse an identity that belongs to another user with 409 IDENTITY_ALREADY_LINKED, never saying whose', async () => {
      const other = await f.login();
      const me = await f.login();
      const ticket = await linkTicket(me.access);
      const res = await miniLogin({ code: f.wechat.mint({ openid: other.openid }), linkTicket: ticket });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('IDENTITY_ALREADY_LINKED');
      expect(res.text).not.toContain(other.userId);
      expect((await identities(me.access)).body).toHaveLength(1);

      // Also when only the unionid is someone else's (another door of that person).
      const unionid = unique('u-taken');
      const owner = await miniLogin({ code: f.wechat.mint({ openid: unique('o-mini'), unionid }) });
      expect(owner.status).toBe(200);
      const ticket2 = await linkTicket(me.access);
      const viaApp = await appLogin({
        appid: 'wxmobile',
        code: f.wechat.mintAppCode({ appid: 'wxmobile', openid: unique('o-app'), unionid }),
        linkTicket: ticket2,
      });
      expect(viaApp.status).toBe(409);
      expect(viaApp.body.code).toBe('IDENTITY_ALREADY_LINKED');
      expect(viaApp.text).not.toContain(owner.body.user.id);
    });

    it('refuse an unknown ticket with 401 LINK_TICKET_INVALID', async () => {
      const res = await miniLogin({
        code: f.wechat.mint({ openid: unique('o-mini') }),
        linkTicket: 'x'.repeat(43),
      });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('LINK_TICKET_INVALID');
    });
  });
});
