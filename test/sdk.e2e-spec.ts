import { readFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath, sep } from 'node:path';
import { createAlova, type AlovaRequestAdapter } from 'alova';
import { createServerTokenAuthentication } from 'alova/client';
import request from 'supertest';
import * as sdk from '../sdk/miniprogram/src';
import {
  AuthError,
  ContentRejectedError,
  createAuthClient,
  type AuthClient,
  type AuthClientOptions,
  type Profile,
  type WxRequestSuccess,
} from '../sdk/miniprogram/src';
import { EventHandlers } from '../src/wechat-auth/events/event-handlers';
import { mediaCheckEvent, signedPush } from '../src/wechat-auth/sandbox/sandbox-events';
import { Clock } from '../src/common/clock/clock';
import { FakeWechat } from './support/fake-wechat';
import { freePort } from './support/free-port';
import { createTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, TEST_DB, type TestDatabase } from './support/test-database';
import { useSandboxApp } from './support/use-test-app';
import { StandInWx } from './sdk/stand-in-wx';
import { SkewedClock } from './support/skewed-clock';

const APPS = { wxapp_one: 'secret-one', wxapp_two: 'secret-two' };
const PUSH_TOKEN = 'sdkPushToken42';
const N = 8;

/**
 * The mini-program SDK (sdk/miniprogram) in Node under a stand-in `wx`, against the real service and the tests'
 * fake WeChat: every rule of the SDK, counting wx.login calls and the requests it sends. Then alova's token
 * strategy against the same service, unmodified.
 */
describe(`mini-program SDK against the service (${TEST_DB})`, () => {
  let wechat: FakeWechat;
  let db: TestDatabase;
  let t: TestApp;
  let baseUrl: string;
  const serverClock = new SkewedClock();
  let seq = 0;

  /** Moves the service's time past the access-token lifetime: every access token issued so far is expired. */
  const expireAccessTokens = () => (serverClock.offset += (t.config.jwt.accessTtlSeconds + 1) * 1000);

  /** A phone with the mini program: its own WeChat user, stand-in `wx` and SDK client. */
  const device = (opts: Partial<AuthClientOptions> & { openid?: string } = {}) => {
    const openid = opts.openid ?? `o-sdk-${++seq}`;
    const wx = new StandInWx(() => wechat.mint({ openid, appid: 'wxapp_one' }));
    const client: AuthClient = createAuthClient({ baseUrl, wx, ...opts });
    return { openid, wx, client };
  };
  const me = (client: AuthClient) => client.request<{ id: string }>({ url: '/users/me' });
  const rejection = async (p: Promise<unknown>): Promise<AuthError> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(AuthError);
    return e as AuthError;
  };

  beforeAll(async () => {
    // WeChat shares the service's clock, so open data minted after a skew is fresh by the service's time.
    wechat = await new FakeWechat(APPS, { clock: serverClock }).start();
    db = await createTestDatabase();
    const port = await freePort();
    t = await createTestApp({
      databaseUrl: db.url,
      wechatApiBase: wechat.baseUrl,
      listen: true,
      env: {
        PORT: String(port),
        WECHAT_MAX_RETRIES: '1',
        WECHAT_BREAKER_THRESHOLD: '1000',
        PHONE_LOOKUPS_PER_USER_PER_DAY: '2',
        // WeChat's content checks on the profile (docs/content-checks.md): updateProfile's pending avatar and
        // ContentRejectedError.
        WECHAT_CONTENT_CHECK: 'on',
        WECHAT_EVENT_TOKEN: PUSH_TOKEN,
      },
      override: (b) => b.overrideProvider(Clock).useValue(serverClock),
    });
    baseUrl = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await wechat?.stop();
  });

  describe('login', () => {
    it(`${N} concurrent requests without a session share one wx.login and one login call`, async () => {
      const { wx, client } = device();
      expect(client.isLoggedIn()).toBe(false);
      const results = await Promise.all(Array.from({ length: N }, () => me(client)));
      expect(results.map((r) => r.statusCode)).toEqual(Array(N).fill(200));
      expect(new Set(results.map((r) => r.data.id)).size).toBe(1);
      expect(wx.loginCalls).toBe(1);
      expect(wx.count('/auth/wechat/login')).toBe(1);
      expect(wx.count('/users/me')).toBe(N);
      expect(client.isLoggedIn()).toBe(true);
      // Every request carried the one session's token.
      expect(new Set(wx.sent.filter((r) => r.path === '/users/me').map((r) => r.authorization)).size).toBe(1);
    });

    it('a stored session is used as is: a new client on the same storage does not log in', async () => {
      const first = device();
      await me(first.client);
      const again = createAuthClient({ baseUrl, wx: first.wx });
      expect(again.isLoggedIn()).toBe(true);
      expect((await me(again)).statusCode).toBe(200);
      expect(first.wx.loginCalls).toBe(1);
    });

    it('login() while requests are logging in joins their login; its answer is the user', async () => {
      const { wx, client } = device();
      const [user] = await Promise.all([client.login(), me(client), me(client)]);
      expect(user).toMatchObject({ id: expect.any(String), isNew: true });
      expect(wx.loginCalls).toBe(1);
    });

    /** The device's sessions at the service, asked with the tokens it has stored. */
    const liveSessions = async (wx: StandInWx) => {
      const stored = JSON.parse(wx.storage.get('wechat-auth:session')!) as { accessToken: string };
      const res = await request(t.server)
        .get('/sessions')
        .set('authorization', `Bearer ${stored.accessToken}`);
      expect(res.status).toBe(200);
      return res.body as { id: string; current: boolean }[];
    };

    it('login() while a refresh is in flight lets it land, logs in, then logs the refreshed session out: one session remains', async () => {
      const { wx, client } = device();
      await me(client);
      const first = await liveSessions(wx);
      expireAccessTokens();
      let explicit: Promise<unknown> | undefined;
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      wx.holdAnswer = (r) => {
        if (r.path === '/auth/wechat/login') setImmediate(release);
        if (r.path !== '/auth/refresh' || explicit) return undefined;
        // The service has rotated the session; its answer is on the way back: the refresh is in flight.
        explicit = client.login();
        // Held until the login has its answer (a login beside the refresh), or for a while (a login that waits).
        setTimeout(release, 300);
        return released;
      };
      const res = await me(client);
      const user = await explicit;
      expect(res.statusCode).toBe(200);
      expect(user).toMatchObject({ id: res.data.id, isNew: false });
      wx.holdAnswer = undefined;

      const sessions = await liveSessions(wx);
      expect(sessions).toEqual([expect.objectContaining({ current: true })]);
      expect(sessions[0].id).not.toBe(first[0].id);
      expect(wx.sent.map((r) => `${r.path} ${r.status}`)).toEqual([
        '/auth/wechat/login 200',
        '/users/me 200',
        '/users/me 401',
        '/auth/refresh 200',
        // The refresh landed first; the request waiting on it was replayed with its tokens meanwhile.
        expect.stringMatching(/^\/(users\/me|auth\/wechat\/login) 200$/),
        expect.stringMatching(/^\/(users\/me|auth\/wechat\/login) 200$/),
        '/auth/logout 204',
      ]);
      expect(wx.loginCalls).toBe(2);
      expect((await me(client)).data.id).toBe(res.data.id);
    });

    it('login() with a stored session logs the replaced one out (also the re-login of checkSession and decrypt)', async () => {
      const { wx, client } = device();
      await me(client);
      const replaced = JSON.parse(wx.storage.get('wechat-auth:session')!) as { refreshToken: string };
      await client.login();
      expect(await liveSessions(wx)).toHaveLength(1);
      expect(wx.sent.at(-1)).toMatchObject({ path: '/auth/logout', status: 204 });
      const old = await request(t.server).post('/auth/refresh').send({ refreshToken: replaced.refreshToken });
      expect(old.body.code).toBe('REFRESH_TOKEN_INVALID');
      // Joined by concurrent callers: one login, one logout.
      await Promise.all([client.login(), client.login(), me(client)]);
      expect(wx.loginCalls).toBe(3);
      expect(wx.count('/auth/logout')).toBe(2);
      expect(await liveSessions(wx)).toHaveLength(1);
    });

    it('login() still succeeds when the replaced session cannot be logged out (offline): the new one is stored', async () => {
      const { wx, client } = device();
      await me(client);
      const original = wx.request.bind(wx);
      wx.request = (o) => {
        if (new URL(o.url).pathname !== '/auth/logout') return original(o);
        setImmediate(() => o.fail?.({ errMsg: 'request:fail offline' }));
        return { abort: () => undefined };
      };
      const before = wx.storage.get('wechat-auth:session');
      await expect(client.login()).resolves.toMatchObject({ isNew: false });
      wx.request = original;
      expect(wx.storage.get('wechat-auth:session')).not.toBe(before);
      expect((await me(client)).statusCode).toBe(200);
    });

    it.each([
      ['WX_CODE_USED', [{ kind: 'json' as const, body: { errcode: 40163, errmsg: 'code been used' } }]],
      [
        'WX_RETRY_LOGIN',
        // The first call is cut off (WeChat may have used the code), the retry finds it used.
        [
          { kind: 'reset' as const },
          { kind: 'json' as const, body: { errcode: 40163, errmsg: 'code been used' } },
        ],
      ],
    ])('%s at login → one new wx.login and a retry, which succeeds', async (code, answers) => {
      const { wx, client } = device();
      wx.onCode.push((c) => wechat.script(c, ...answers));
      const results = await Promise.all([me(client), me(client), me(client)]);
      expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200]);
      expect(wx.sent.filter((r) => r.path === '/auth/wechat/login').map((r) => r.code ?? r.status)).toEqual([
        code,
        200,
      ]);
      expect(wx.loginCalls).toBe(2);
    });

    it('a second spent code surfaces as AuthError: two wx.login calls, never a loop', async () => {
      const { wx, client } = device();
      const used = { kind: 'json' as const, body: { errcode: 40163, errmsg: 'code been used' } };
      wx.onCode.push(
        (c) => wechat.script(c, used),
        (c) => wechat.script(c, used),
      );
      const e = await rejection(me(client));
      expect(e).toMatchObject({ code: 'WX_CODE_USED', statusCode: 401, requestId: expect.any(String) });
      expect(wx.loginCalls).toBe(2);
      expect(wx.count('/auth/wechat/login')).toBe(2);
      expect(wx.count('/users/me')).toBe(0);
      expect(client.isLoggedIn()).toBe(false);
    });

    it('503 at login surfaces with its Retry-After; no new wx.login, no retry', async () => {
      const { wx, client } = device();
      const busy = { kind: 'json' as const, body: { errcode: -1, errmsg: 'system busy' } };
      wx.onCode.push((c) => wechat.script(c, busy, busy));
      const e = await rejection(me(client));
      expect(e.code).toBe('WX_UNAVAILABLE');
      expect(e.statusCode).toBe(503);
      expect(e.retryAfter).toBeGreaterThan(0);
      expect(wx.loginCalls).toBe(1);
      expect(wx.count('/auth/wechat/login')).toBe(1);
    });

    it('wx.login failing surfaces as WX_LOGIN_FAILED without a request', async () => {
      const wx = new StandInWx(() => {
        throw new Error('no network');
      });
      const e = await rejection(me(createAuthClient({ baseUrl, wx })));
      expect(e).toMatchObject({ code: 'WX_LOGIN_FAILED', statusCode: 0 });
      expect(wx.sent).toEqual([]);
    });
  });

  describe('refresh', () => {
    it(`${N} concurrent requests after the access token expired share one refresh, then are replayed`, async () => {
      const { wx, client } = device();
      await me(client);
      expireAccessTokens();
      const results = await Promise.all(Array.from({ length: N }, () => me(client)));
      expect(results.map((r) => r.statusCode)).toEqual(Array(N).fill(200));
      expect(wx.count('/auth/refresh')).toBe(1);
      expect(wx.count('/users/me', 401)).toBe(N);
      expect(wx.count('/users/me', 200)).toBe(1 + N); // the first call, then each replayed once
      expect(wx.loginCalls).toBe(1);
      // Later requests use the new token at once.
      await me(client);
      expect(wx.count('/auth/refresh')).toBe(1);
      expect(wx.sent.at(-1)!.status).toBe(200);
    });

    it('a 401 that arrives after the refresh finished takes the new token: no second refresh', async () => {
      const { wx, client } = device();
      await me(client);
      expireAccessTokens();
      const gate: { first?: Promise<unknown> } = {};
      const base = wx.sent.length;
      // The second request's 401 is held back until the first request (401, refresh, replay) is done.
      wx.holdAnswer = (r) => (r === wx.sent[base + 1] ? gate.first : undefined);
      const first = (gate.first = me(client));
      const second = me(client);
      expect((await first).statusCode).toBe(200);
      expect((await second).statusCode).toBe(200);
      expect(wx.count('/auth/refresh')).toBe(1);
      expect(wx.count('/users/me', 401)).toBe(2);
    });

    it.each([
      [
        'REFRESH_TOKEN_INVALID',
        'logged out everywhere from another device',
        async (other: AuthClient) => {
          await other.logout({ all: true });
        },
      ],
      [
        'REFRESH_TOKEN_REUSED',
        'its refresh token rotated by someone else, then the access token expired',
        async (_other: AuthClient, refreshToken: string) => {
          const stolen = await request(t.server).post('/auth/refresh').send({ refreshToken });
          expect(stolen.status).toBe(200);
          expireAccessTokens();
        },
      ],
    ])(
      'a dead refresh token (%s: %s) → one wx.login + login, the queued requests replayed once',
      async (code, _how, kill) => {
        const phone = device();
        await me(phone.client);
        const other = device({ openid: phone.openid });
        await me(other.client);
        const stored = JSON.parse(phone.wx.storage.get('wechat-auth:session')!) as { refreshToken: string };
        await kill(other.client, stored.refreshToken);

        const results = await Promise.all(Array.from({ length: N }, () => me(phone.client)));
        expect(results.map((r) => r.statusCode)).toEqual(Array(N).fill(200));
        expect(phone.wx.sent.filter((r) => r.path === '/auth/refresh').map((r) => r.code)).toEqual([code]);
        expect(phone.wx.loginCalls).toBe(2);
        expect(phone.wx.count('/auth/wechat/login')).toBe(2);
        expect(phone.wx.count('/users/me', 401)).toBe(N);
        expect(phone.wx.count('/users/me', 200)).toBe(1 + N);
      },
    );

    it('a replay refused again surfaces: one refresh, one replay, never a loop', async () => {
      const { wx, client } = device();
      await me(client);
      expireAccessTokens();
      // Every /users/me after this point carries a token the service refuses.
      wx.beforeSend = (o) => {
        if (o.path === '/users/me') o.header.Authorization = 'Bearer not-a-token';
      };
      const e = await rejection(me(client));
      expect(e).toMatchObject({ code: 'UNAUTHORIZED', statusCode: 401 });
      expect(wx.count('/auth/refresh')).toBe(1);
      expect(wx.count('/users/me')).toBe(1 + 2);
      expect(wx.loginCalls).toBe(1);
    });

    it('a dead refresh token and a replay refused again: one refresh, one wx.login, one replay, then the error', async () => {
      const { wx, client, openid } = device();
      await me(client);
      const other = device({ openid });
      await other.client.login();
      await other.client.logout({ all: true });
      wx.beforeSend = (o) => {
        if (o.path === '/users/me') o.header.Authorization = 'Bearer not-a-token';
      };
      const e = await rejection(Promise.all([me(client), me(client), me(client)]));
      expect(e.code).toBe('UNAUTHORIZED');
      expect(wx.count('/auth/refresh')).toBe(1);
      expect(wx.loginCalls).toBe(2);
      expect(wx.count('/auth/wechat/login')).toBe(2);
      expect(wx.count('/users/me')).toBe(1 + 3 * 2);
    });

    it('proactive refresh shortly before expiresIn: one refresh for many requests, none refused', async () => {
      let now = Date.now();
      const { wx, client } = device({ now: () => now });
      await me(client);
      now += (t.config.jwt.accessTtlSeconds - 30) * 1000; // inside the last minute of the token's life
      const results = await Promise.all(Array.from({ length: N }, () => me(client)));
      expect(results.map((r) => r.statusCode)).toEqual(Array(N).fill(200));
      expect(wx.count('/auth/refresh')).toBe(1);
      expect(wx.count('/users/me', 401)).toBe(0);
      // The refresh came before the requests: all N carried the new token.
      const tokens = wx.sent.filter((r) => r.path === '/users/me').map((r) => r.authorization);
      expect(new Set(tokens.slice(1)).size).toBe(1);
      expect(tokens[1]).not.toBe(tokens[0]);
    });

    it('adds no request while nothing is pending: no timer, nothing sent while idle past expiry', async () => {
      const realSetTimeout = global.setTimeout;
      const realSetInterval = global.setInterval;
      let sdkTimers = 0;
      const fromSdk = () => /sdk[\\/]miniprogram[\\/]/.test(new Error().stack ?? '');
      const timeout = jest.spyOn(global, 'setTimeout').mockImplementation(((
        ...args: Parameters<typeof setTimeout>
      ) => {
        if (fromSdk()) sdkTimers++;
        return realSetTimeout(...args);
      }) as typeof setTimeout);
      const interval = jest.spyOn(global, 'setInterval').mockImplementation(((
        ...args: Parameters<typeof setInterval>
      ) => {
        if (fromSdk()) sdkTimers++;
        return realSetInterval(...args);
      }) as typeof setInterval);
      try {
        let now = Date.now();
        const { wx, client } = device({ now: () => now });
        await me(client);
        await client.checkSession();
        const sent = wx.sent.length;
        now += 2 * t.config.jwt.accessTtlSeconds * 1000;
        await new Promise((r) => realSetTimeout(r, 300));
        expect(client.isLoggedIn()).toBe(true);
        expect(wx.sent.length).toBe(sent);
        expect(sdkTimers).toBe(0);
      } finally {
        timeout.mockRestore();
        interval.mockRestore();
      }
    });

    it('a refresh answered 429/503 surfaces with Retry-After and keeps the pair', async () => {
      const { wx, client } = device();
      await me(client);
      expireAccessTokens();
      // The stand-in answers the refresh itself, as a proxy in front of the service would when overloaded.
      const original = wx.request.bind(wx);
      wx.request = (o) => {
        if (new URL(o.url).pathname !== '/auth/refresh') return original(o);
        const res: WxRequestSuccess = {
          statusCode: 503,
          data: { statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: 'busy', requestId: 'req-busy-1' },
          header: { 'Retry-After': '7' },
        };
        wx.sent.push({ method: 'POST', path: '/auth/refresh', status: 503, code: 'SERVICE_UNAVAILABLE' });
        setImmediate(() => o.success?.(res));
        return { abort: () => undefined };
      };
      const e = await rejection(me(client));
      expect(e).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        statusCode: 503,
        retryAfter: 7,
        requestId: 'req-busy-1',
      });
      expect(wx.loginCalls).toBe(1);
      expect(client.isLoggedIn()).toBe(true);
      wx.request = original;
      expect((await me(client)).statusCode).toBe(200);
      expect(wx.loginCalls).toBe(1);
    });
  });

  describe('WeChat features', () => {
    it('bindPhone: the getPhoneNumber code binds the number, answered masked', async () => {
      const { client, openid } = device();
      await client.login();
      const code = await wechat.mintPhoneCode({ openid, phoneNumber: '13812340001' });
      expect(await client.bindPhone(code)).toEqual({ phone: '138****0001', countryCode: '86' });
    });

    it('429 (phone lookups spent) surfaces with its Retry-After; nothing is retried', async () => {
      const { wx, client, openid } = device();
      await client.login();
      for (let i = 0; i < 2; i++)
        await client.bindPhone(await wechat.mintPhoneCode({ openid, phoneNumber: '13812340002' }));
      const e = await rejection(
        client.bindPhone(await wechat.mintPhoneCode({ openid, phoneNumber: '13812340002' })),
      );
      expect(e).toMatchObject({ code: 'PHONE_RATE_LIMITED', statusCode: 429 });
      expect(e.retryAfter).toBeGreaterThan(0);
      expect(wx.count('/auth/wechat/phone')).toBe(3);
      expect(wx.loginCalls).toBe(1);
      expect(wx.count('/auth/refresh')).toBe(0);
    });

    it('checkSession: valid while nothing rotated the key; stale → one wx.login, then valid again', async () => {
      const { wx, client, openid } = device();
      await client.login();
      expect(await client.checkSession()).toMatchObject({ valid: true, renewed: false });
      wechat.mint({ openid, appid: 'wxapp_one' }); // another wx.login on the phone rotates the key at WeChat
      // The service asks WeChat about one key at most once a second.
      await new Promise((r) => setTimeout(r, 1100));
      expect(await client.checkSession({ renew: false })).toMatchObject({ valid: false, renewed: false });
      expect(wx.loginCalls).toBe(1);
      expect(await client.checkSession()).toMatchObject({ valid: false, renewed: true });
      expect(wx.loginCalls).toBe(2);
      expect(await client.checkSession()).toMatchObject({ valid: true, renewed: false });
      expect(wx.loginCalls).toBe(2);
    });

    it('decrypt: SESSION_STALE → log in again and retry once, with the data fetched again', async () => {
      const { wx, client, openid } = device();
      await client.login();
      wechat.mint({ openid, appid: 'wxapp_one' }); // the key rotated behind the service's back
      let fetched = 0;
      const res = await client.decrypt(() => {
        fetched++;
        return wechat.mintOpenData({ openid, data: { stepInfoList: [{ step: 1234 }] } });
      });
      expect(res.data).toMatchObject({ stepInfoList: [{ step: 1234 }] });
      expect(fetched).toBe(2);
      expect(wx.sent.filter((r) => r.path === '/auth/wechat/decrypt').map((r) => r.code ?? r.status)).toEqual(
        ['SESSION_STALE', 200],
      );
      expect(wx.loginCalls).toBe(2);
      // SESSION_STALE is not about the access token: no refresh.
      expect(wx.count('/auth/refresh')).toBe(0);
    });

    it('decrypt: stale again after the new login surfaces SESSION_STALE (one re-login, never a loop)', async () => {
      const { wx, client, openid } = device();
      await client.login();
      let fetched = 0;
      const e = await rejection(
        client.decrypt(() => {
          fetched++;
          wechat.mint({ openid, appid: 'wxapp_one' }); // always rotated again before the data is fetched
          return wechat.mintOpenData({ openid });
        }),
      );
      expect(e).toMatchObject({ code: 'SESSION_STALE', statusCode: 401 });
      expect(fetched).toBe(2);
      expect(wx.count('/auth/wechat/decrypt')).toBe(2);
      expect(wx.loginCalls).toBe(2);
    });

    it('decrypt with a plain payload retries the same data once after the new login', async () => {
      const openid = `o-sdk-${++seq}`;
      let keepSessionKey = false;
      const wx = new StandInWx(() => wechat.mint({ openid, appid: 'wxapp_one', keepSessionKey }));
      const client = createAuthClient({ baseUrl, wx });
      await client.login();
      wechat.mint({ openid, appid: 'wxapp_one' }); // the key rotated behind the service's back
      const open = await wechat.mintOpenData({ openid, data: { n: 1 } });
      // The SDK's next wx.login keeps the key (as WeChat often does), so that login hands it to the service.
      keepSessionKey = true;
      const res = await client.decrypt(open);
      expect(res.data).toMatchObject({ n: 1 });
      expect(wx.sent.filter((r) => r.path === '/auth/wechat/decrypt').map((r) => r.code ?? r.status)).toEqual(
        ['SESSION_STALE', 200],
      );
      expect(wx.loginCalls).toBe(2);
    });

    it('updateProfile saves the avatar/nickname fill-in values (PUT /users/me: wx.request has no PATCH); the avatar waits for WeChat', async () => {
      const { client, wx } = device();
      const profile = await client.updateProfile({
        nickname: '小程序用户',
        avatarUrl: 'https://cdn.example.com/a.png',
      });
      expect(profile).toMatchObject({ nickname: '小程序用户', avatarUrl: null, avatarStatus: 'pending' });
      expect(wx.sent.filter((r) => r.path === '/users/me').map((r) => r.method)).toEqual(['PUT']);
      // WeChat's verdict arrives by push: the avatar is published.
      const check = wechat.mediaChecks[wechat.mediaChecks.length - 1];
      // Stamped with the service's (skewed) time: a push more than 5 minutes off is refused.
      const push = signedPush({
        token: PUSH_TOKEN,
        appid: check.appid,
        event: mediaCheckEvent(check),
        timestamp: Math.floor(serverClock.now() / 1000),
      });
      await request(t.server).post('/wechat/events').query(push.query).send(push.body).expect(200);
      await t.app.get(EventHandlers).drain();
      const me = await client.request<Profile>({ url: '/users/me' });
      expect(me.data).toMatchObject({ avatarUrl: 'https://cdn.example.com/a.png', avatarStatus: 'approved' });
      const e = await rejection(client.updateProfile({ avatarUrl: 'wxfile://tmp_123.png' }));
      expect(e).toMatchObject({ code: 'VALIDATION_FAILED', statusCode: 400 });
    });

    it("updateProfile: a nickname WeChat's content check refuses rejects with ContentRejectedError (label); nothing saved", async () => {
      const { client } = device();
      await client.updateProfile({ nickname: 'Before' });
      const e = await rejection(client.updateProfile({ nickname: 'risky words' }));
      expect(e).toBeInstanceOf(ContentRejectedError);
      expect(e).toMatchObject({ code: 'CONTENT_REJECTED', statusCode: 422, label: 20001 });
      const me = await client.request<Profile>({ url: '/users/me' });
      expect(me.data.nickname).toBe('Before');
    });
  });

  describe('storage, errors, logout', () => {
    it('storage holds only our token pair: never a session_key, AppSecret, code or profile', async () => {
      const { wx, client, openid } = device();
      await client.login();
      await client.bindPhone(await wechat.mintPhoneCode({ openid, phoneNumber: '13812340003' }));
      await client.updateProfile({ nickname: 'Stored?' });
      expireAccessTokens();
      await me(client); // refreshed
      await client.decrypt(() => wechat.mintOpenData({ openid, data: { secretish: 'x' } }));

      expect([...wx.storage.keys()]).toEqual(['wechat-auth:session']);
      const stored = JSON.parse(wx.storage.get('wechat-auth:session')!) as Record<string, unknown>;
      expect(Object.keys(stored).sort()).toEqual([
        'accessToken',
        'expiresAt',
        'refreshAt',
        'refreshExpiresAt',
        'refreshToken',
      ]);
      const dump = [...wx.storage.values()].join('\n');
      for (const secret of [
        ...wechat.sessionKeys,
        ...Object.values(APPS),
        ...wx.codes,
        '13812340003',
        'Stored?',
        openid,
      ])
        expect(dump).not.toContain(secret);
    });

    it('a service error rejects with AuthError carrying code, statusCode, message and requestId', async () => {
      const { wx, client } = device();
      const e = await rejection(client.request({ url: '/no/such/route' }));
      expect(e).toMatchObject({ code: 'NOT_FOUND', statusCode: 404, message: expect.any(String) });
      expect(e.requestId).toMatch(/^[A-Za-z0-9._-]{8,64}$/);
      expect(e.retryAfter).toBeUndefined();
      expect(wx.count('/auth/refresh')).toBe(0);
    });

    it('never sends the token to another origin', async () => {
      const { wx, client } = device();
      await client.login();
      await expect(client.request({ url: 'https://evil.example.com/users/me' })).rejects.toThrow(TypeError);
      await expect(client.request({ url: `${baseUrl}.evil.example.com/x` })).rejects.toThrow(TypeError);
      expect(wx.sent.map((r) => r.path)).toEqual(['/auth/wechat/login']);
      expect((await client.request({ url: `${baseUrl}/users/me` })).statusCode).toBe(200);
    });

    it('no network → AuthError NETWORK_ERROR', async () => {
      const wx = new StandInWx(() => wechat.mint({ openid: `o-sdk-${++seq}`, appid: 'wxapp_one' }));
      const client = createAuthClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, wx });
      expect(await rejection(me(client))).toMatchObject({ code: 'NETWORK_ERROR', statusCode: 0 });
    });

    it('logout revokes the session and forgets it; logout({ all }) ends the other devices too', async () => {
      const { wx, client, openid } = device();
      await client.login();
      const stored = JSON.parse(wx.storage.get('wechat-auth:session')!) as { refreshToken: string };
      await client.logout();
      expect(wx.sent.at(-1)).toMatchObject({ path: '/auth/logout', status: 204 });
      expect(client.isLoggedIn()).toBe(false);
      expect(wx.storage.size).toBe(0);
      expect(
        (await request(t.server).post('/auth/refresh').send({ refreshToken: stored.refreshToken })).body.code,
      ).toBe('REFRESH_TOKEN_INVALID');

      const other = device({ openid });
      await other.client.login();
      await client.login();
      await client.logout({ all: true });
      const e = await request(t.server)
        .post('/auth/refresh')
        .send({
          refreshToken: (JSON.parse(other.wx.storage.get('wechat-auth:session')!) as { refreshToken: string })
            .refreshToken,
        });
      expect(e.body.code).toBe('REFRESH_TOKEN_INVALID');
    });

    it('logout with an expired access token refreshes once to revoke; with a dead session it just forgets', async () => {
      const { wx, client, openid } = device();
      await client.login();
      expireAccessTokens();
      await client.logout();
      expect(wx.sent.map((r) => `${r.path} ${r.status}`)).toEqual([
        '/auth/wechat/login 200',
        '/auth/logout 401',
        '/auth/refresh 200',
        '/auth/logout 204',
      ]);

      const second = device({ openid });
      await second.client.login();
      const third = device({ openid });
      await third.client.login();
      await third.client.logout({ all: true });
      await second.client.logout();
      expect(second.wx.loginCalls).toBe(1);
      expect(second.client.isLoggedIn()).toBe(false);
    });
  });

  describe('alova (createServerTokenAuthentication), unmodified', () => {
    type Res = WxRequestSuccess;

    /** alova's request adapter over wx.request: what a native mini program plugs into alova. */
    const wxAdapter =
      (wx: StandInWx): AlovaRequestAdapter<object, Res, Record<string, unknown>> =>
      (elements) => {
        const response = new Promise<Res>((resolve, reject) =>
          wx.request({
            url: elements.url,
            method: elements.type.toUpperCase() as 'GET',
            data: elements.data as Record<string, unknown> | undefined,
            header: elements.headers as Record<string, string>,
            success: resolve,
            fail: reject,
          }),
        );
        return {
          response: () => response,
          headers: () => response.then((r) => r.header),
          abort: () => undefined,
        };
      };

    it(`Bearer header, refresh on 401 with ${N} queued requests, all replayed`, async () => {
      const openid = `o-alova-${++seq}`;
      const wx = new StandInWx(() => wechat.mint({ openid, appid: 'wxapp_one' }));
      const tokens = { accessToken: '', refreshToken: '' };
      const keep = (data: unknown) => Object.assign(tokens, data as typeof tokens);

      const { onAuthRequired, onResponseRefreshToken } = createServerTokenAuthentication<
        never,
        ReturnType<typeof wxAdapter>
      >({
        assignToken: (method) => {
          method.config.headers.Authorization = `Bearer ${tokens.accessToken}`;
        },
        login: (response) => {
          keep(response.data);
        },
        refreshTokenOnSuccess: {
          isExpired: (response) =>
            response.statusCode === 401 && (response.data as { code?: string }).code === 'UNAUTHORIZED',
          handler: async () => {
            const pair = await api.Post(
              '/auth/refresh',
              { refreshToken: tokens.refreshToken },
              { meta: { authRole: 'refreshToken' } },
            );
            keep(pair);
          },
        },
      });
      const api = createAlova({
        baseURL: baseUrl,
        requestAdapter: wxAdapter(wx),
        cacheFor: null,
        shareRequest: false,
        beforeRequest: onAuthRequired(),
        responded: onResponseRefreshToken((response: Res) => {
          if (response.statusCode >= 400) throw new Error(`HTTP ${response.statusCode}`);
          return response.data;
        }),
      });

      const code = await new Promise<string>((resolve) => wx.login({ success: (r) => resolve(r.code) }));
      await api.Post('/auth/wechat/login', { code }, { meta: { authRole: 'login' } });
      expect(tokens.accessToken).not.toBe('');
      expect(await api.Get('/users/me')).toMatchObject({ id: expect.any(String) });

      expireAccessTokens();
      const results = (await Promise.all(Array.from({ length: N }, () => api.Get('/users/me')))) as {
        id: string;
      }[];
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(wx.count('/users/me', 401)).toBe(N);
      expect(wx.count('/users/me', 200)).toBe(1 + N);
      // Every refresh alova sent rotated a live token: the session survived (no REFRESH_TOKEN_REUSED).
      const refreshes = wx.sent.filter((r) => r.path === '/auth/refresh');
      expect(refreshes.map((r) => r.status)).toEqual(refreshes.map(() => 200));
      expect(refreshes.length).toBe(1);
      expect(await api.Get('/users/me')).toMatchObject({ id: results[0].id });
    });
  });
});

/**
 * The example mini program (examples/miniprogram) cannot run here (no WeChat DevTools), but its page logic can:
 * app.js and pages/index/index.js loaded with stand-in `App`/`Page`/`getApp`/`wx` globals, against the service
 * in sandbox mode as the README runs it. Catches a page that no longer fits the SDK or the service.
 */
describe(`example mini program's page logic against the sandbox (${TEST_DB})`, () => {
  const root = join(__dirname, '..', 'examples', 'miniprogram');
  const sandbox = useSandboxApp({ apps: '' });

  interface PageInstance {
    data: Record<string, unknown> & { busy: boolean; message: string };
    setData(d: Record<string, unknown>): void;
    [handler: string]: unknown;
  }

  /** Loads app.js and the index page the way the mini-program runtime would, with `wx` as the stand-in. */
  const loadExample = (wx: StandInWx) => {
    let app: Record<string, unknown> | undefined;
    let pageDef: Record<string, unknown> | undefined;
    const cache = new Map<string, { exports: unknown }>();
    const load = (file: string): unknown => {
      const cached = cache.get(file);
      if (cached) return cached.exports;
      const module = { exports: {} as unknown };
      cache.set(file, module);
      const localRequire = (spec: string): unknown => {
        if (spec === 'wechat-auth-miniprogram') return sdk;
        return load(resolvePath(dirname(file), spec.endsWith('.js') ? spec : `${spec}.js`));
      };
      new Function('require', 'module', 'exports', 'wx', 'App', 'getApp', 'Page', readFileSync(file, 'utf8'))(
        localRequire,
        module,
        module.exports,
        wx,
        (def: Record<string, unknown>) => (app = def),
        () => app,
        (def: Record<string, unknown>) => (pageDef = def),
      );
      if (file.endsWith(`${sep}config.js`))
        Object.assign(module.exports as object, { baseUrl: `http://127.0.0.1:${sandbox.port}` });
      return module.exports;
    };
    load(join(root, 'config.js'));
    load(join(root, 'app.js'));
    load(join(root, 'pages', 'index', 'index.js'));
    const page = { ...pageDef, data: { ...(pageDef!.data as object) } } as PageInstance;
    page.setData = (d) => Object.assign(page.data, d);
    return page;
  };
  const idle = async (page: PageInstance) => {
    for (let i = 0; i < 500 && page.data.busy; i++) await new Promise((r) => setTimeout(r, 5));
    expect(page.data.busy).toBe(false);
  };
  const call = async (page: PageInstance, handler: string, arg?: unknown) => {
    (page[handler] as (a?: unknown) => void).call(page, arg);
    await idle(page);
  };

  it('logs in on show, binds the phone, saves the nickname, checks the session, logs out', async () => {
    const wx = new StandInWx(() => {
      throw new Error('the example gets its login codes from the sandbox');
    });
    const page = loadExample(wx);

    await call(page, 'onShow');
    expect(page.data.message).toBe('');
    expect(page.data.loggedIn).toBe(true);
    expect(page.data.profile).toMatchObject({ id: expect.any(String), phone: null });
    expect(wx.count('/sandbox/wechat/codes')).toBe(1);

    await call(page, 'onGetPhoneNumber', { detail: {} });
    expect(page.data.message).toBe('Bound 138****5678');
    expect(page.data.profile).toMatchObject({ phone: '138****5678' });

    await call(page, 'onChooseAvatar', { detail: { avatarUrl: 'wxfile://tmp_avatar.png' } });
    await call(page, 'onSaveProfile', { detail: { value: { nickname: ' 示例用户 ' } } });
    expect(page.data.message).toBe('Profile saved');
    expect(page.data.profile).toMatchObject({ nickname: '示例用户', avatarUrl: null });

    await call(page, 'onCheckSession');
    expect(page.data.session).toBe('session_key valid');

    await call(page, 'onLogout');
    expect(page.data).toMatchObject({ loggedIn: false, profile: null, message: 'Logged out' });
    expect(wx.storage.size).toBe(0);
    expect(wx.count('/sandbox/wechat/codes')).toBe(1);
  });
});
