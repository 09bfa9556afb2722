import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { FakeWechat } from './support/fake-wechat';
import { findLeaks, tokensIn } from './support/leak-check';
import { TEST_JWT_SECRET } from './support/test-app';
import { useTestApp } from './support/use-test-app';

const APPS = { wxapp_one: 'secret-one', wxapp_two: 'secret-two' };

describe('login → guarded API (e2e)', () => {
  const fx = useTestApp({
    apps: { ...APPS, wxapp_bad: 'the-real-secret', wxapp_quota: 'secret-q' },
    // One attempt per login and no breaker: each mapping test sees exactly the answer it scripted
    // (retries, the breaker and the replay guard are covered by resilience.e2e-spec.ts).
    env: {
      WECHAT_APPS: 'wxapp_two:secret-two,wxapp_bad:wrong-secret,wxapp_gone:whatever,wxapp_quota:secret-q',
      WECHAT_TIMEOUT_MS: '400',
      WECHAT_MAX_RETRIES: '0',
      WECHAT_BREAKER_THRESHOLD: '1000',
      REFRESH_REUSE_INTERVAL: '1',
    },
  });
  const bodies: string[] = [];

  const http = () => request(fx.t.server);
  const record = <T extends { text: string }>(res: T): T => {
    bodies.push(res.text ?? '');
    return res;
  };
  const login = async (code: string, extra: Record<string, unknown> = {}) =>
    record(
      await http()
        .post('/auth/wechat/login')
        .send({ code, ...extra }),
    );

  it('logs in, reads /users/me and /auth/session, refreshes, detects reuse and logs out', async () => {
    const first = await login(fx.wechat.mint({ openid: 'o-flow' }));
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.body).toMatchObject({
      tokenType: 'Bearer',
      expiresIn: 900,
      refreshExpiresIn: 30 * 24 * 3600,
    });
    expect(first.body.user).toEqual({ id: expect.any(String), nickname: null, avatarUrl: null, isNew: true });
    const { accessToken, refreshToken } = first.body;
    const userId = first.body.user.id;

    const header = JSON.parse(Buffer.from(accessToken.split('.')[0], 'base64url').toString());
    // HS256 (only JWT_SECRET is set), with a kid naming the secret without revealing it (issue 10).
    expect(header).toEqual({
      alg: 'HS256',
      typ: 'at+jwt',
      kid: expect.stringMatching(/^hs256-[A-Za-z0-9_-]{22}$/),
    });
    const claims = jwt.decode(accessToken) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: userId, appid: 'wxapp_one', iss: 'wechat-auth', aud: 'miniprogram' });
    expect(claims.jti).toEqual(expect.any(String));
    expect(claims.exp! - claims.iat!).toBe(900);

    const me = record(await http().get('/users/me').set('authorization', `Bearer ${accessToken}`));
    expect(me.status).toBe(200);
    expect(me.headers['cache-control']).toBe('no-store');
    expect(me.body).toEqual({
      id: userId,
      nickname: null,
      avatarUrl: null,
      avatarStatus: 'none',
      phone: null,
      phoneCountryCode: null,
      createdAt: expect.any(String),
    });

    const session = record(await http().get('/auth/session').set('authorization', `Bearer ${accessToken}`));
    expect(session.status).toBe(200);
    expect(session.body).toEqual({
      userId,
      appid: 'wxapp_one',
      roles: ['user'],
      expiresAt: new Date(claims.exp! * 1000).toISOString(),
    });

    const again = await login(fx.wechat.mint({ openid: 'o-flow' }));
    expect(again.status).toBe(200);
    expect(again.body.user).toMatchObject({ id: userId, isNew: false });

    const refreshed = record(await http().post('/auth/refresh').send({ refreshToken }));
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers['cache-control']).toBe('no-store');
    expect(refreshed.body.user).toBeUndefined();
    expect(refreshed.body.refreshToken).not.toBe(refreshToken);
    const newest = refreshed.body.refreshToken;

    // Presented again at once (a concurrent request): the same successor, not theft.
    const concurrent = record(await http().post('/auth/refresh').send({ refreshToken }));
    expect(concurrent.status).toBe(200);
    expect(concurrent.body.refreshToken).toBe(newest);
    // After REFRESH_REUSE_INTERVAL (1 s here; + 1 s for MariaDB's whole-second DATETIME) it is reuse:
    // the whole family dies, the newest token too.
    await new Promise((r) => setTimeout(r, 2100));
    const reused = record(await http().post('/auth/refresh').send({ refreshToken }));
    expect(reused.status).toBe(401);
    expect(reused.body.code).toBe('REFRESH_TOKEN_REUSED');
    const afterReuse = record(await http().post('/auth/refresh').send({ refreshToken: newest }));
    expect(afterReuse.status).toBe(401);
    expect(afterReuse.body.code).toBe('REFRESH_TOKEN_INVALID');

    // The second login's session is another family and is unaffected; logout kills it.
    const logout = record(
      await http()
        .post('/auth/logout')
        .set('authorization', `Bearer ${again.body.accessToken}`)
        .send({ refreshToken: again.body.refreshToken }),
    );
    expect(logout.status).toBe(204);
    const afterLogout = record(
      await http().post('/auth/refresh').send({ refreshToken: again.body.refreshToken }),
    );
    expect(afterLogout.body.code).toBe('REFRESH_TOKEN_INVALID');
  });

  it('logout without a body revokes the current session; { all: true } revokes every session', async () => {
    const a = await login(fx.wechat.mint({ openid: 'o-logout' }));
    const b = await login(fx.wechat.mint({ openid: 'o-logout' }));
    const c = await login(fx.wechat.mint({ openid: 'o-logout' }));
    expect(
      record(await http().post('/auth/logout').set('authorization', `Bearer ${a.body.accessToken}`)).status,
    ).toBe(204);
    expect((await http().post('/auth/refresh').send({ refreshToken: a.body.refreshToken })).status).toBe(401);
    expect((await http().post('/auth/refresh').send({ refreshToken: b.body.refreshToken })).status).toBe(200);
    // An empty body with a JSON content type also means "the current session".
    const d = await login(fx.wechat.mint({ openid: 'o-logout' }));
    const emptyJson = await http()
      .post('/auth/logout')
      .set('authorization', `Bearer ${d.body.accessToken}`)
      .set('content-type', 'application/json')
      .send('');
    expect(emptyJson.status).toBe(204);
    expect((await http().post('/auth/refresh').send({ refreshToken: d.body.refreshToken })).status).toBe(401);

    expect(
      record(
        await http()
          .post('/auth/logout')
          .set('authorization', `Bearer ${c.body.accessToken}`)
          .send({ all: true }),
      ).status,
    ).toBe(204);
    expect((await http().post('/auth/refresh').send({ refreshToken: c.body.refreshToken })).status).toBe(401);
    // Logout-all stops the access tokens too, at once.
    const sessions = await http().get('/sessions').set('authorization', `Bearer ${c.body.accessToken}`);
    expect(sessions.status).toBe(401);
  });

  it('a user sees and revokes only their own sessions; others answer 404', async () => {
    const alice = await login(fx.wechat.mint({ openid: 'o-alice' }));
    const bob = await login(fx.wechat.mint({ openid: 'o-bob' }));
    const auth = (r: { body: { accessToken: string } }) => `Bearer ${r.body.accessToken}`;

    const list = record(await http().get('/sessions').set('authorization', auth(alice)));
    expect(list.status).toBe(200);
    expect(list.headers['cache-control']).toBe('no-store');
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({ appid: 'wxapp_one', current: true });
    const aliceSession = list.body[0].id;

    expect((await http().get(`/sessions/${aliceSession}`).set('authorization', auth(alice))).status).toBe(
      200,
    );
    const peek = record(await http().get(`/sessions/${aliceSession}`).set('authorization', auth(bob)));
    expect(peek.status).toBe(404);
    expect(peek.body.code).toBe('NOT_FOUND');
    expect((await http().delete(`/sessions/${aliceSession}`).set('authorization', auth(bob))).status).toBe(
      404,
    );
    expect((await http().get('/sessions/not-a-uuid').set('authorization', auth(bob))).status).toBe(404);
    // Bob's logout with Alice's refresh token must not touch Alice.
    await http()
      .post('/auth/logout')
      .set('authorization', auth(bob))
      .send({ refreshToken: alice.body.refreshToken });
    expect((await http().get(`/sessions/${aliceSession}`).set('authorization', auth(alice))).status).toBe(
      200,
    );

    expect((await http().delete(`/sessions/${aliceSession}`).set('authorization', auth(alice))).status).toBe(
      204,
    );
    expect((await http().post('/auth/refresh').send({ refreshToken: alice.body.refreshToken })).status).toBe(
      401,
    );
  });

  it('links a second mini program to the same user through unionid', async () => {
    const one = await login(fx.wechat.mint({ appid: 'wxapp_one', openid: 'o-app1', unionid: 'u-shared' }));
    const two = await login(fx.wechat.mint({ appid: 'wxapp_two', openid: 'o-app2', unionid: 'u-shared' }), {
      appid: 'wxapp_two',
    });
    expect(one.status).toBe(200);
    expect(two.status).toBe(200);
    expect(two.body.user).toMatchObject({ id: one.body.user.id, isNew: false });
    const claims = jwt.decode(two.body.accessToken) as jwt.JwtPayload;
    expect(claims.appid).toBe('wxapp_two');
  });

  it('parallel first logins of one person from two apps (shared unionid) end as one user', async () => {
    const logins = Array.from({ length: 10 }, (_, i) => {
      const appid = i % 2 ? 'wxapp_two' : 'wxapp_one';
      const code = fx.wechat.mint({ appid });
      // Same delay for all, so the ten reach the database together.
      const body = JSON.stringify({
        openid: `o-union-${i}`,
        session_key: 'dW5pb24tcmFjZS1rZXk=',
        unionid: 'u-race',
      });
      fx.wechat.script(code, { kind: 'slow', ms: 100, then: { kind: 'raw', body } });
      return login(code, { appid });
    });
    const results = await Promise.all(logins);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(results.map((r) => r.body.user.id)).size).toBe(1);
    const rows = await fx.t.app
      .get(DataSource)
      .query(`SELECT DISTINCT user_id FROM wechat_identities WHERE unionid = 'u-race'`);
    expect(rows).toHaveLength(1);
  });

  it('50 parallel first logins of one openid give one user and one identity', async () => {
    const codes = Array.from({ length: 50 }, () => fx.wechat.mint({ openid: 'o-race' }));
    const results = await Promise.all(codes.map((code) => login(code)));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    const ids = new Set(results.map((r) => r.body.user.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.body.user.isNew)).toHaveLength(1);
    const ds = fx.t.app.get(DataSource);
    const identities = await ds.query(`SELECT user_id FROM wechat_identities WHERE openid = 'o-race'`);
    expect(identities).toHaveLength(1);
    const users = await ds.query(`SELECT id FROM users WHERE id = ?`, [identities[0].user_id]);
    expect(users).toHaveLength(1);
  });

  describe('WeChat answers map to stable errors', () => {
    const scripted = async (answer: Parameters<FakeWechat['script']>[1], appid = 'wxapp_one') => {
      const code = fx.wechat.mint({ appid });
      fx.wechat.script(code, answer);
      return login(code, { appid });
    };

    it.each([
      [40029, 401, 'WX_CODE_INVALID'],
      [40163, 401, 'WX_CODE_USED'],
      [40226, 403, 'WX_USER_BLOCKED'],
      [45011, 429, 'WX_RATE_LIMITED'],
      [-1, 503, 'WX_UNAVAILABLE'],
      [40013, 503, 'WX_MISCONFIGURED'],
      [40125, 503, 'WX_MISCONFIGURED'],
      [99999, 503, 'WX_UNAVAILABLE'],
    ])('errcode %i → %i %s', async (errcode, status, code) => {
      // 45011 stops the whole app until the next minute: give it an app of its own.
      const appid = errcode === 45011 ? 'wxapp_quota' : 'wxapp_one';
      const res = await scripted({ kind: 'json', body: { errcode, errmsg: `boom rid: 0123abcd-ef` } }, appid);
      expect(res.status).toBe(status);
      expect(res.body).toEqual({
        statusCode: status,
        code,
        message: expect.any(String),
        requestId: expect.any(String),
      });
      expect(res.text).not.toContain('boom');
      if (status === 429 || status === 503) expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    });

    it.each([
      ['HTTP 500', { kind: 'json', body: { errcode: -1 }, status: 500 }],
      ['HTTP 502 HTML', { kind: 'raw', body: '<html>bad gateway</html>', status: 502 }],
      ['non-JSON 200', { kind: 'raw', body: '<html>oops</html>' }],
      ['JSON without openid', { kind: 'json', body: { foo: 1 } }],
      ['connection reset', { kind: 'reset' }],
      ['hang past the timeout', { kind: 'hang' }],
    ] as const)('%s → 503 WX_UNAVAILABLE with Retry-After', async (_name, answer) => {
      const res = await scripted(answer);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('WX_UNAVAILABLE');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    });

    it('an unknown code is 401 WX_CODE_INVALID, a reused one 401 WX_CODE_USED', async () => {
      expect((await login('never-issued')).body.code).toBe('WX_CODE_INVALID');
      const code = fx.wechat.mint();
      expect((await login(code)).status).toBe(200);
      const second = await login(code);
      expect(second.status).toBe(401);
      expect(second.body.code).toBe('WX_CODE_USED');
    });

    it('a wrong AppSecret or an appid WeChat does not know is 503 WX_MISCONFIGURED', async () => {
      const bad = await login(fx.wechat.mint({ appid: 'wxapp_bad' }), { appid: 'wxapp_bad' });
      expect(bad.status).toBe(503);
      expect(bad.body.code).toBe('WX_MISCONFIGURED');
      const gone = await login('abc', { appid: 'wxapp_gone' });
      expect(gone.body.code).toBe('WX_MISCONFIGURED');
    });
  });

  describe('bad input is a 4xx before any WeChat call', () => {
    it.each([
      ['unknown field', { code: 'abc', extra: 1 }],
      ['missing code', {}],
      ['empty code', { code: '' }],
      ['code too long', { code: 'a'.repeat(129) }],
      ['code with bad characters', { code: 'abc def' }],
      ['code of the wrong type', { code: 123 }],
      ['appid of the wrong shape', { code: 'abc', appid: 'a/b' }],
    ])('%s → 400 VALIDATION_FAILED', async (_name, body) => {
      const before = fx.wechat.calls.length;
      const res = record(await http().post('/auth/wechat/login').send(body));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(fx.wechat.calls.length).toBe(before);
    });

    it('an unconfigured appid → 400 UNKNOWN_APPID', async () => {
      const res = await login('abc', { appid: 'wx_nobody' });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('UNKNOWN_APPID');
    });

    it('malformed JSON, a non-JSON content type or a huge body → 4xx in the error format', async () => {
      const bad = await http()
        .post('/auth/wechat/login')
        .set('content-type', 'application/json')
        .send('{"code":');
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({
        statusCode: 400,
        code: 'MALFORMED_REQUEST',
        requestId: expect.any(String),
      });
      const before = fx.wechat.calls.length;
      // Only JSON is parsed: a form post (no CORS preflight from a browser) or plain text never reaches WeChat.
      for (const [type, body] of [
        ['application/x-www-form-urlencoded', `code=${fx.wechat.mint()}`],
        ['text/plain', '{"code":"abc"}'],
        ['text/xml', '<code>1</code>'],
        ['multipart/form-data; boundary=x', '--x--'],
      ]) {
        const res = await http().post('/auth/wechat/login').set('content-type', type).send(body);
        expect([type, res.status, res.body.code]).toEqual([type, 415, 'UNSUPPORTED_MEDIA_TYPE']);
      }
      expect(fx.wechat.calls.length).toBe(before);
      const huge = await http()
        .post('/auth/wechat/login')
        .send({ code: 'x'.repeat(20000) });
      expect(huge.status).toBe(413);
      expect(huge.body.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('deeply nested JSON → 400 VALIDATION_FAILED, not a stack overflow', async () => {
      const deep = `{"code":"abc","x":${'['.repeat(3000)}${']'.repeat(3000)}}`;
      for (const path of ['/auth/wechat/login', '/auth/refresh']) {
        const res = await http().post(path).set('content-type', 'application/json').send(deep);
        expect([path, res.status, res.body.code]).toEqual([path, 400, 'VALIDATION_FAILED']);
      }
    });

    it('refresh with garbage → 400 or 401, never 500', async () => {
      expect((await http().post('/auth/refresh').send({ refreshToken: 'nope' })).body.code).toBe(
        'REFRESH_TOKEN_INVALID',
      );
      expect(
        (
          await http()
            .post('/auth/refresh')
            .send({ refreshToken: 'x'.repeat(43) })
        ).body.code,
      ).toBe('REFRESH_TOKEN_INVALID');
      expect((await http().post('/auth/refresh').send({})).body.code).toBe('VALIDATION_FAILED');
      expect((await http().post('/auth/refresh').send({ refreshToken: 'a', more: 1 })).body.code).toBe(
        'VALIDATION_FAILED',
      );
    });

    it('headers too large for the HTTP parser → 431 HEADERS_TOO_LARGE in the error format', async () => {
      const res = await http()
        .get('/users/me')
        .set('authorization', `Bearer ${'a'.repeat(20000)}`);
      expect(res.status).toBe(431);
      expect(res.body).toMatchObject({
        statusCode: 431,
        code: 'HEADERS_TOO_LARGE',
        requestId: expect.any(String),
      });
    });

    it('an unknown route → 404 NOT_FOUND in the error format', async () => {
      const res = await http().get('/nope');
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
    });
  });

  describe('the guard rejects every bad token with 401 and WWW-Authenticate', () => {
    let good: { accessToken: string; user: { id: string } };
    beforeAll(async () => {
      good = (await login(fx.wechat.mint({ openid: 'o-guard' }))).body;
    });
    const sign = (claims: object, opts: jwt.SignOptions = {}, secret = TEST_JWT_SECRET) =>
      jwt.sign(
        { appid: 'wxapp_one', roles: ['user'], sid: '00000000-0000-4000-8000-000000000000', ...claims },
        secret,
        {
          algorithm: 'HS256',
          issuer: 'wechat-auth',
          audience: 'miniprogram',
          subject: good.user.id,
          jwtid: 'j1',
          expiresIn: 600,
          header: { alg: 'HS256', typ: 'at+jwt' },
          ...opts,
        },
      );
    const noneToken = () => {
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      return `${enc({ alg: 'none', typ: 'at+jwt' })}.${enc({ sub: good.user.id, appid: 'wxapp_one', roles: ['user'], sid: 's', iss: 'fx.wechat-auth', aud: 'miniprogram', iat: now, exp: now + 600, jti: 'j' })}.`;
    };
    const hs512 = () => {
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const head = `${enc({ alg: 'HS512', typ: 'at+jwt' })}.${enc({ sub: good.user.id, appid: 'wxapp_one', roles: ['user'], sid: 's', iss: 'fx.wechat-auth', aud: 'miniprogram', iat: now, exp: now + 600, jti: 'j' })}`;
      return `${head}.${createHmac('sha512', TEST_JWT_SECRET).update(head).digest('base64url')}`;
    };

    it('a correctly made token passes (control)', async () => {
      expect(
        (
          await http()
            .get('/auth/session')
            .set('authorization', `Bearer ${sign({})}`)
        ).status,
      ).toBe(200);
    });

    it.each([
      ['no header', undefined],
      ['not Bearer', () => `Basic ${Buffer.from('a:b').toString('base64')}`],
      ['garbage', () => 'Bearer not.a.jwt'],
      ['bad signature', () => `Bearer ${sign({}, {}, 'another-secret-another-secret-another-secret')}`],
      ['alg none', () => `Bearer ${noneToken()}`],
      ['other HMAC algorithm', () => `Bearer ${hs512()}`],
      ['wrong issuer', () => `Bearer ${sign({}, { issuer: 'someone-else' })}`],
      ['wrong audience', () => `Bearer ${sign({}, { audience: 'other-api' })}`],
      ['wrong typ', () => `Bearer ${sign({}, { header: { alg: 'HS256', typ: 'JWT' } })}`],
      ['expired', () => `Bearer ${sign({ iat: Math.floor(Date.now() / 1000) - 3600 }, { expiresIn: 60 })}`],
      ['missing claims', () => `Bearer ${sign({ appid: undefined, sid: undefined })}`],
      ['token in the query string only', undefined],
    ])('%s → 401', async (_name, header) => {
      let req = http().get(`/users/me${header ? '' : `?access_token=${good.accessToken}`}`);
      if (header) req = req.set('authorization', header());
      const res = record(await req);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });
  });

  it('/health answers 200 with the database up', async () => {
    const res = await http().get('/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.info.database.status).toBe('up');
  });

  it('keeps emoji nicknames (utf8mb4)', async () => {
    const res = await login(fx.wechat.mint({ openid: 'o-emoji' }));
    const ds = fx.t.app.get(DataSource);
    await ds.query('UPDATE users SET nickname = ? WHERE id = ?', ['小明🐼✨', res.body.user.id]);
    const me = await http().get('/users/me').set('authorization', `Bearer ${res.body.accessToken}`);
    expect(me.body.nickname).toBe('小明🐼✨');
  });

  it('never returns a session_key, and stores it only encrypted', async () => {
    const ds = fx.t.app.get(DataSource);
    const rows: { session_key_enc: string }[] = await ds.query(
      'SELECT session_key_enc FROM wechat_identities',
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.session_key_enc).toMatch(/^v1\./);
    const all = bodies.join('\n');
    expect(all).not.toMatch(/session_?key/i);
    for (const key of fx.wechat.sessionKeys) expect(all).not.toContain(key);
  });

  it('logs carry no AppSecret, session_key, token or raw code; bodies no AppSecret or session_key', () => {
    expect(fx.t.logs.length).toBeGreaterThan(100);
    const appSecrets = ['secret-one', 'secret-two', 'wrong-secret', 'secret-q', TEST_JWT_SECRET];
    const logLeaks = findLeaks(
      fx.t.logs.map((text, i) => ({ where: `log line ${i}`, text })),
      {
        appSecret: appSecrets,
        sessionKey: fx.wechat.sessionKeys,
        token: tokensIn(bodies),
        code: fx.wechat.mintedCodes,
      },
    );
    expect(logLeaks).toEqual([]);
    const bodyLeaks = findLeaks(
      bodies.map((text, i) => ({ where: `response ${i}`, text })),
      { appSecret: appSecrets, sessionKey: fx.wechat.sessionKeys },
    );
    expect(bodyLeaks).toEqual([]);
  });
});
