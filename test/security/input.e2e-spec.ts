import request from 'supertest';
import { AccountService } from '../../src/account/account.service';
import { useTestApp } from '../support/use-test-app';

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
  const fx = useTestApp({
    // No reuse interval: presenting a rotated refresh token again answers 401, so a test can tell
    // whether a refresh ran.
    env: { WECHAT_MAX_RETRIES: '0', PHONE_LOOKUPS_PER_USER_PER_DAY: '1000', REFRESH_REUSE_INTERVAL: '0' },
  });
  let seq = 0;

  const post = (path: string, json: string, token?: string) => {
    const req = request(fx.t.server).post(path).set('content-type', 'application/json');
    return (token ? req.set('authorization', `Bearer ${token}`) : req).send(json);
  };
  const login = async (openid = `o-input-${++seq}`) => {
    const res = await post('/auth/wechat/login', JSON.stringify({ code: fx.wechat.mint({ openid }) }));
    expect(res.status).toBe(200);
    return {
      openid,
      accessToken: res.body.accessToken as string,
      refreshToken: res.body.refreshToken as string,
    };
  };

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
        const before = fx.wechat.callsTo(CODE2SESSION).length;
        return {
          body: { code: fx.wechat.mint({ openid: `o-input-${++seq}` }) },
          ran: async () => fx.wechat.callsTo(CODE2SESSION).length > before,
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
      const before = fx.wechat.callsTo(PHONE).length;
      return {
        body: { code: await fx.wechat.mintPhoneCode({ openid: user.openid }) },
        token: user.accessToken,
        ran: async () => fx.wechat.callsTo(PHONE).length > before,
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

describe('list and filter edges, request ids in the audit trail, export rate (e2e)', () => {
  const fx = useTestApp();
  let seq = 0;
  let adminToken: string;

  const http = () => request(fx.t.server);
  const login = async (headers: Record<string, string> = {}) => {
    const res = await http()
      .post('/auth/wechat/login')
      .set(headers)
      .send({ code: fx.wechat.mint({ openid: `o-edges-${++seq}` }) });
    expect(res.status).toBe(200);
    return {
      userId: res.body.user.id as string,
      accessToken: res.body.accessToken as string,
      refreshToken: res.body.refreshToken as string,
      requestId: res.headers['x-request-id'] as string,
    };
  };

  beforeAll(async () => {
    const admin = await login();
    await fx.t.app.get(AccountService).setRoles(admin.userId, admin.userId, ['admin']);
    const refreshed = await http().post('/auth/refresh').send({ refreshToken: admin.refreshToken });
    adminToken = refreshed.body.accessToken as string;
    for (let i = 0; i < 3; i++) await login();
  });

  const list = (path: string, query: string) =>
    http().get(`${path}?${query}`).set('authorization', `Bearer ${adminToken}`);

  describe.each(['/admin/users', '/admin/audit-events'])('GET %s', (path) => {
    it('takes a plain limit (the control)', async () => {
      const res = await list(path, 'limit=2');
      expect(res.status).toBe(200);
      expect(res.body.items).toHaveLength(2);
      expect(res.body.nextCursor).toEqual(expect.any(String));
      const next = await list(path, `limit=2&cursor=${res.body.nextCursor as string}`);
      expect(next.status).toBe(200);
    });

    it.each([
      'limit=10abc',
      'limit=1e1',
      'limit=%205',
      'limit=-1',
      'limit=0',
      'limit=010',
      'limit=5.0',
      'limit=0x10',
      'limit=',
      'limit=101',
      'limit=99999999999999999999',
      'limit=5&limit=6',
    ])('refuses %s: 400 VALIDATION_FAILED with one stable detail', async (query) => {
      const res = await list(path, query);
      expect({ status: res.status, code: res.body.code, details: res.body.details }).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
        details: ['limit must be an integer from 1 to 100, in plain digits'],
      });
    });

    it('refuses a cursor that is not one of its own (400, never a 500)', async () => {
      const other = Buffer.from(JSON.stringify({ c: '2026-01-01T00:00:00Z', i: 'x' })).toString('base64url');
      const res = await list(path, `cursor=${other}`);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    });
  });

  describe('GET /admin/audit-events dates', () => {
    it.each([
      // Year 10000 once offset to UTC: MariaDB read it so that the filter reversed (every row matched `from`).
      'from=9999-12-31T23:00:00-05:00',
      'to=9999-12-31T20:00:00-04:00',
      'from=0000-01-01T00:00:00Z',
      'from=0001-01-01T00:00:00%2B01:00',
      'from=10000-01-01T00:00:00Z',
      'from=2026-02-30T00:00:00Z',
    ])('refuses %s with 400 VALIDATION_FAILED', async (query) => {
      const res = await list('/admin/audit-events', query);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    });

    it('compares correctly at the edges of the range (nothing reversed)', async () => {
      const all = await list('/admin/audit-events', 'limit=100');
      expect(all.body.items.length).toBeGreaterThan(0);
      const early = await list('/admin/audit-events', 'limit=100&from=0001-01-01T00:00:00Z');
      expect(early.body.items).toHaveLength(all.body.items.length);
      const late = await list('/admin/audit-events', 'limit=100&from=9999-12-31T23:59:59.999Z');
      expect(late.body.items).toEqual([]);
      const until = await list('/admin/audit-events', 'limit=100&to=9999-12-31T23:59:59.999Z');
      expect(until.body.items).toHaveLength(all.body.items.length);
    });
  });

  describe('request ids in the audit trail', () => {
    const loginEvent = async (userId: string) => {
      const res = await list('/admin/audit-events', `userId=${userId}&type=login.succeeded`);
      expect(res.body.items).toHaveLength(1);
      return res.body.items[0] as { requestId: string | null };
    };

    it("records the id the service minted (the answer's X-Request-Id)", async () => {
      const user = await login();
      expect(user.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect((await loginEvent(user.userId)).requestId).toBe(user.requestId);
    });

    it.each(['5b0b1d3e-7f6a-4c2b-9d8e-1f2a3b4c5d6e', 'my-trace-0001'])(
      'records no id the client chose (%s), though the answer and the logs keep it',
      async (chosen) => {
        const user = await login({ 'x-request-id': chosen });
        expect(user.requestId).toBe(chosen);
        expect((await loginEvent(user.userId)).requestId).toBeNull();
      },
    );
  });

  describe('GET /users/me/export', () => {
    it('is rate-limited per user: 5 a minute, then 429 RATE_LIMITED with Retry-After; another user is not', async () => {
      const [a, b] = [await login(), await login()];
      const exportAs = (token: string) =>
        http().get('/users/me/export').set('authorization', `Bearer ${token}`);
      for (let i = 0; i < 5; i++) expect((await exportAs(a.accessToken)).status).toBe(200);
      const limited = await exportAs(a.accessToken);
      expect({ status: limited.status, code: limited.body.code }).toEqual({
        status: 429,
        code: 'RATE_LIMITED',
      });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect((await exportAs(b.accessToken)).status).toBe(200);
    });
  });
});
