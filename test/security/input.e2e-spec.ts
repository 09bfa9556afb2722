import request from 'supertest';
import { FakeWechat } from '../support/fake-wechat';
import { createTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const APPS = { wxapp_one: 'secret-one', wxapp_two: 'secret-two' };
const CODE2SESSION = '/sns/jscode2session';
const PHONE = '/wxa/business/getuserphonenumber';

/**
 * Keys named like Object.prototype members used to slip past "unknown fields are rejected": the
 * validator looked them up in a plain object and found the inherited member. Each is now refused
 * before anything runs — no WeChat call, no token rotated.
 */
const PROTOTYPE_KEYS = [
  'valueOf',
  'toString',
  'toLocaleString',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'constructor',
  'prototype',
  '__defineGetter__',
  '__lookupSetter__',
];

/** The JSON text of a body with one extra key (JSON.stringify cannot write an own `__proto__`). */
const withKey = (body: Record<string, unknown>, key: string, value: unknown): string =>
  `${JSON.stringify(body).slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(value)}}`;

describe('hostile body keys (e2e)', () => {
  let wechat: FakeWechat;
  let db: TestDatabase;
  let t: TestApp;
  let seq = 0;

  const post = (path: string, json: string, token?: string) => {
    const req = request(t.server).post(path).set('content-type', 'application/json');
    return (token ? req.set('authorization', `Bearer ${token}`) : req).send(json);
  };
  const login = async (openid = `o-input-${++seq}`) => {
    const res = await post('/auth/wechat/login', JSON.stringify({ code: wechat.mint({ openid }) }));
    expect(res.status).toBe(200);
    return {
      openid,
      accessToken: res.body.accessToken as string,
      refreshToken: res.body.refreshToken as string,
    };
  };

  beforeAll(async () => {
    wechat = await new FakeWechat(APPS).start();
    db = await createTestDatabase();
    t = await createTestApp({
      databaseUrl: db.url,
      wechatApiBase: wechat.baseUrl,
      // No reuse interval: presenting a rotated refresh token again answers 401, so a test can tell
      // whether a refresh ran.
      env: { WECHAT_MAX_RETRIES: '0', PHONE_LOOKUPS_PER_USER_PER_DAY: '1000', REFRESH_REUSE_INTERVAL: '0' },
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await wechat?.stop();
  });

  // Each key with values of each JSON type: the bug did not depend on the value.
  const CASES = PROTOTYPE_KEYS.flatMap((key) =>
    [1, 'x', {}, [], null, true].map((value) => [key, value] as const),
  );

  describe.each([
    ['POST /auth/wechat/login', 'a valid login code'],
    ['POST /auth/refresh', 'a valid refresh token'],
    ['POST /auth/wechat/phone', 'a valid phone code'],
  ])('%s with %s', (route) => {
    const path = route.split(' ')[1];

    /** A body the route accepts, the token to send, and how to tell whether it ran. */
    const setUp = async (): Promise<{
      body: Record<string, unknown>;
      token?: string;
      ran: () => Promise<boolean>;
    }> => {
      if (path === '/auth/wechat/login') {
        const before = wechat.callsTo(CODE2SESSION).length;
        return {
          body: { code: wechat.mint({ openid: `o-input-${++seq}` }) },
          ran: async () => wechat.callsTo(CODE2SESSION).length > before,
        };
      }
      const user = await login();
      if (path === '/auth/refresh') {
        return {
          body: { refreshToken: user.refreshToken },
          // Unrotated tokens refresh; a rotated one answers 401.
          ran: async () =>
            (await post(path, JSON.stringify({ refreshToken: user.refreshToken }))).status !== 200,
        };
      }
      const before = wechat.callsTo(PHONE).length;
      return {
        body: { code: await wechat.mintPhoneCode({ openid: user.openid }) },
        token: user.accessToken,
        ran: async () => wechat.callsTo(PHONE).length > before,
      };
    };

    it('accepts the body without extra keys (the control)', async () => {
      const { body, token, ran } = await setUp();
      const res = await post(path, JSON.stringify(body), token);
      expect(res.status).toBe(200);
      expect(await ran()).toBe(true);
    });

    it.each(CASES)(
      'refuses an extra %s: %j with 400 VALIDATION_FAILED before anything runs',
      async (key, value) => {
        const { body, token, ran } = await setUp();
        const res = await post(path, withKey(body, key, value), token);
        expect({ status: res.status, code: res.body.code, details: res.body.details }).toEqual({
          status: 400,
          code: 'VALIDATION_FAILED',
          details: [`property ${key} should not exist`],
        });
        expect(await ran()).toBe(false);
      },
    );

    it.each([
      ['__proto__ (1)', (b: Record<string, unknown>) => withKey(b, '__proto__', 1)],
      ['__proto__ ({})', (b: Record<string, unknown>) => withKey(b, '__proto__', { isAdmin: true })],
      [
        'constructor.prototype',
        (b: Record<string, unknown>) => withKey(b, 'constructor', { prototype: { x: 1 } }),
      ],
    ])('refuses %s at the parser (400 MALFORMED_REQUEST) before anything runs', async (_name, make) => {
      const { body, token, ran } = await setUp();
      const res = await post(path, make(body), token);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: 'MALFORMED_REQUEST' });
      expect(await ran()).toBe(false);
    });
  });
});
