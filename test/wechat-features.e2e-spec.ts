import request from 'supertest';
import { findLeaks, issuedSecrets } from './support/leak-check';
import { useTestApp } from './support/use-test-app';

/** WeChat beyond login: the interface token, phone numbers, the session_key check and open data. */
describe('WeChat beyond login (e2e)', () => {
  const fx = useTestApp({
    env: {
      WECHAT_MAX_RETRIES: '0',
      WECHAT_BREAKER_THRESHOLD: '1000',
      PHONE_LOOKUPS_PER_USER_PER_DAY: '3',
      PHONE_LOOKUPS_PER_APP_PER_DAY: '1000',
    },
  });
  const bodies: string[] = [];
  let seq = 0;

  const http = () => request(fx.t.server);
  const record = <T extends { text: string }>(res: T): T => {
    bodies.push(res.text ?? '');
    return res;
  };
  /** A fresh WeChat user logged in: their openid, access token and user id. */
  const loginAs = async (openid = `o-feature-${++seq}`, appid = 'wxapp_one') => {
    const res = record(
      await http()
        .post('/auth/wechat/login')
        .send({ code: fx.wechat.mint({ openid, appid }), appid }),
    );
    expect(res.status).toBe(200);
    return { openid, appid, token: res.body.accessToken as string, userId: res.body.user.id as string };
  };
  const bindPhone = async (token: string, code: string) =>
    record(await http().post('/auth/wechat/phone').set('authorization', `Bearer ${token}`).send({ code }));
  const decrypt = async (token: string, body: object) =>
    record(await http().post('/auth/wechat/decrypt').set('authorization', `Bearer ${token}`).send(body));
  const sessionCheck = async (token: string) =>
    record(await http().get('/auth/wechat/session').set('authorization', `Bearer ${token}`));

  describe('POST /auth/wechat/phone', () => {
    it('binds the number with its country code, answers it masked and shows it masked on /users/me', async () => {
      const u = await loginAs();
      const code = await fx.wechat.mintPhoneCode({ openid: u.openid, phoneNumber: '13812345678' });
      const res = await bindPhone(u.token, code);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({ phone: '138****5678', countryCode: '86' });
      const call = fx.wechat.callsTo('/wxa/business/getuserphonenumber').at(-1)!;
      expect(call.method).toBe('POST');
      expect(call.body).toEqual({ code, openid: u.openid });
      expect(call.query.get('access_token')).toEqual(expect.any(String));

      const me = record(await http().get('/users/me').set('authorization', `Bearer ${u.token}`));
      expect(me.body).toMatchObject({ phone: '138****5678', phoneCountryCode: '86' });
      expect(me.text).not.toContain('13812345678');
    });

    it('a number already bound to another user → 409 PHONE_IN_USE; the same user again → 200', async () => {
      const first = await loginAs();
      const second = await loginAs();
      expect(
        (
          await bindPhone(
            first.token,
            await fx.wechat.mintPhoneCode({ openid: first.openid, phoneNumber: '13900001111' }),
          )
        ).status,
      ).toBe(200);
      const taken = await bindPhone(
        second.token,
        await fx.wechat.mintPhoneCode({ openid: second.openid, phoneNumber: '13900001111' }),
      );
      expect(taken.status).toBe(409);
      expect(taken.body.code).toBe('PHONE_IN_USE');
      const again = await bindPhone(
        first.token,
        await fx.wechat.mintPhoneCode({ openid: first.openid, phoneNumber: '13900001111' }),
      );
      expect(again.status).toBe(200);
    });

    it('a wx.login code sent here → 400 WX_CODE_INVALID saying it wants the phone code', async () => {
      const u = await loginAs();
      const res = await bindPhone(u.token, fx.wechat.mint({ openid: u.openid, keepSessionKey: true }));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('WX_CODE_INVALID');
      expect(res.body.message).toMatch(/getPhoneNumber/);
      expect(res.body.message).toMatch(/not a wx\.login code/);
    });

    it('a phone code of another WeChat user is refused by WeChat (openid bound) → 400', async () => {
      const u = await loginAs();
      const other = await loginAs();
      const res = await bindPhone(u.token, await fx.wechat.mintPhoneCode({ openid: other.openid }));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('WX_CODE_INVALID');
    });

    it('caps lookups per user and day: over the cap → 429 PHONE_RATE_LIMITED with Retry-After, WeChat not called', async () => {
      const u = await loginAs();
      for (let i = 0; i < 3; i++) {
        const res = await bindPhone(u.token, await fx.wechat.mintPhoneCode({ openid: u.openid }));
        expect(res.status).toBe(200);
      }
      const before = fx.wechat.callsTo('/wxa/business/getuserphonenumber').length;
      const over = await bindPhone(u.token, await fx.wechat.mintPhoneCode({ openid: u.openid }));
      expect(over.status).toBe(429);
      expect(over.body.code).toBe('PHONE_RATE_LIMITED');
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(86_400);
      expect(fx.wechat.callsTo('/wxa/business/getuserphonenumber').length).toBe(before);
    });

    it('refuses a number whose watermark names another app (never binds it)', async () => {
      const u = await loginAs();
      fx.wechat.scriptPath('/wxa/business/getuserphonenumber', {
        kind: 'json',
        body: {
          errcode: 0,
          errmsg: 'ok',
          phone_info: {
            phoneNumber: '13700000000',
            purePhoneNumber: '13700000000',
            countryCode: '86',
            watermark: { appid: 'wx_someone_else', timestamp: Math.floor(Date.now() / 1000) },
          },
        },
      });
      const res = await bindPhone(u.token, await fx.wechat.mintPhoneCode({ openid: u.openid }));
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('WX_UNAVAILABLE');
      const me = await http().get('/users/me').set('authorization', `Bearer ${u.token}`);
      expect(me.body.phone).toBeNull();
    });

    it('an unauthenticated call → 401 and WeChat is not called', async () => {
      const before = fx.wechat.callsTo('/wxa/business/getuserphonenumber').length;
      const res = await http().post('/auth/wechat/phone').send({ code: 'abc' });
      expect(res.status).toBe(401);
      expect(fx.wechat.callsTo('/wxa/business/getuserphonenumber').length).toBe(before);
    });
  });

  describe('the interface access_token', () => {
    it('is fetched once with stable_token (normal mode) for 20 parallel first calls of an app', async () => {
      const users = await Promise.all(Array.from({ length: 20 }, () => loginAs(undefined, 'wxapp_two')));
      const fetchesOfTwo = () =>
        fx.wechat
          .callsTo('/cgi-bin/stable_token')
          .filter((c) => (c.body as { appid?: string }).appid === 'wxapp_two');
      expect(fetchesOfTwo()).toHaveLength(0);
      const results = await Promise.all(users.map((u) => sessionCheck(u.token)));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(results.every((r) => r.body.valid === true)).toBe(true);
      expect(fetchesOfTwo()).toHaveLength(1);
      const fetch = fetchesOfTwo()[0];
      expect(fetch.method).toBe('POST');
      expect(fetch.body).toMatchObject({
        grant_type: 'client_credential',
        appid: 'wxapp_two',
        secret: 'secret-two',
      });
      expect(fetch.body).not.toHaveProperty('force_refresh');
      // Later calls use the cache.
      await sessionCheck(users[0].token);
      expect(fetchesOfTwo()).toHaveLength(1);
    });

    it('refused with 40001 → fetched again and the call retried once; success', async () => {
      await sessionCheck((await loginAs()).token); // the interface token is cached
      const u = await loginAs();
      const tokenCalls = fx.wechat.callsTo('/cgi-bin/stable_token').length;
      const checks = fx.wechat.callsTo('/wxa/checksession').length;
      // WeChat renewed the token behind our back: the cached one is refused, the next fetch gives the new one.
      await fx.wechat.useAccessToken('wxapp_one', `renewed-token-${Date.now()}-abcdefghijklmnop`);
      fx.wechat.scriptPath('/wxa/checksession', {
        kind: 'json',
        body: {
          errcode: 40001,
          errmsg: 'invalid credential, access_token is invalid or not latest rid: 1a2b3c4d',
        },
      });
      const res = await sessionCheck(u.token);
      expect(res.status).toBe(200);
      expect(res.body.valid).toBe(true);
      expect(fx.wechat.callsTo('/cgi-bin/stable_token').length).toBe(tokenCalls + 1);
      expect(fx.wechat.callsTo('/wxa/checksession').length).toBe(checks + 2);
    });

    it('refused again after the refetch → 503 WX_UNAVAILABLE, never a loop', async () => {
      const u = await loginAs();
      const tokenCalls = fx.wechat.callsTo('/cgi-bin/stable_token').length;
      const checks = fx.wechat.callsTo('/wxa/checksession').length;
      const refused = {
        kind: 'json' as const,
        body: { errcode: 42001, errmsg: 'access_token expired rid: 1a2b3c4d' },
      };
      fx.wechat.scriptPath('/wxa/checksession', refused, refused);
      const res = await sessionCheck(u.token);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('WX_UNAVAILABLE');
      expect(res.headers['retry-after']).toBeDefined();
      expect(fx.wechat.callsTo('/wxa/checksession').length).toBe(checks + 2);
      // The same token came back from stable_token, so it was forced once (and only once).
      const fetches = fx.wechat.callsTo('/cgi-bin/stable_token').slice(tokenCalls);
      expect(fetches.length).toBe(2);
      expect(
        fetches.filter((c) => (c.body as { force_refresh?: boolean }).force_refresh === true).length,
      ).toBe(1);
    });
  });

  describe('GET /auth/wechat/session', () => {
    it('valid after login; invalid once a later wx.login rotated the session_key', async () => {
      const u = await loginAs();
      const ok = await sessionCheck(u.token);
      expect(ok.status).toBe(200);
      expect(ok.headers['cache-control']).toBe('no-store');
      expect(ok.body).toEqual({ valid: true, checkedAt: expect.any(String) });
      expect(Date.parse(ok.body.checkedAt)).not.toBeNaN();
      const call = fx.wechat.callsTo('/wxa/checksession').at(-1)!;
      expect(call.query.get('sig_method')).toBe('hmac_sha256');
      expect(call.query.get('openid')).toBe(u.openid);
      expect(call.query.get('signature')).toMatch(/^[0-9a-f]{64}$/);

      fx.wechat.mint({ openid: u.openid }); // wx.login on the phone, code never sent to us: the key rotates
      await new Promise((r) => setTimeout(r, 1100)); // past the 1 s the answer for one key is shared
      const stale = await sessionCheck(u.token);
      expect(stale.status).toBe(200);
      expect(stale.body.valid).toBe(false);
    });
  });

  describe('POST /auth/wechat/decrypt', () => {
    it('decrypts open data with the stored session_key and checks rawData + signature', async () => {
      const u = await loginAs();
      const open = await fx.wechat.mintOpenData({
        openid: u.openid,
        data: { nickName: 'Band 🎸', gender: 1 },
      });
      const res = await decrypt(u.token, open);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.data).toEqual({ nickName: 'Band 🎸', gender: 1 });
      expect(res.body.watermark).toEqual({ appid: 'wxapp_one', timestamp: expect.any(Number) });
    });

    it("repairs a '+' turned into a space in transit", async () => {
      const u = await loginAs();
      let open = await fx.wechat.mintOpenData({ openid: u.openid, data: { n: 1 } });
      for (let i = 0; i < 50 && !open.encryptedData.includes('+'); i++)
        open = await fx.wechat.mintOpenData({ openid: u.openid, data: { n: i } });
      expect(open.encryptedData).toContain('+');
      const res = await decrypt(u.token, {
        encryptedData: open.encryptedData.replace(/\+/g, ' '),
        iv: open.iv.replace(/\+/g, ' '),
      });
      expect(res.status).toBe(200);
    });

    it.each<[string, (o: { encryptedData: string; iv: string }) => Record<string, unknown>, number, string]>([
      ['invalid base64', (o) => ({ ...o, encryptedData: `${o.encryptedData}*` }), 400, 'VALIDATION_FAILED'],
      ['an iv of the wrong length', (o) => ({ ...o, iv: 'AAAA' }), 400, 'VALIDATION_FAILED'],
      ['rawData without signature', (o) => ({ ...o, rawData: '{}' }), 400, 'VALIDATION_FAILED'],
      ['an unknown field', (o) => ({ ...o, extra: 1 }), 400, 'VALIDATION_FAILED'],
      [
        'tampered ciphertext (our key is still valid)',
        (o) => ({ ...o, iv: Buffer.alloc(16, 1).toString('base64') }),
        400,
        'DECRYPT_FAILED',
      ],
    ])('%s → 4xx, never a 500', async (_name, mutate, status, code) => {
      const u = await loginAs();
      const open = await fx.wechat.mintOpenData({ openid: u.openid });
      const res = await decrypt(u.token, mutate({ encryptedData: open.encryptedData, iv: open.iv }));
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
    });

    it('a wrong signature with a still-valid key → 400 DECRYPT_FAILED', async () => {
      const u = await loginAs();
      const open = await fx.wechat.mintOpenData({ openid: u.openid });
      const res = await decrypt(u.token, { ...open, signature: '0'.repeat(40) });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('DECRYPT_FAILED');
    });

    it('data encrypted after a wx.login rotated the key → 401 SESSION_STALE; after logging in again it decrypts', async () => {
      const u = await loginAs();
      const code = fx.wechat.mint({ openid: u.openid }); // rotates the key at WeChat; we still hold the old one
      const open = await fx.wechat.mintOpenData({ openid: u.openid });
      const stale = await decrypt(u.token, open);
      expect(stale.status).toBe(401);
      expect(stale.body.code).toBe('SESSION_STALE');

      const relogin = record(await http().post('/auth/wechat/login').send({ code }));
      expect(relogin.status).toBe(200);
      const res = await decrypt(relogin.body.accessToken, open);
      expect(res.status).toBe(200);
    });

    it('data of another mini program or too old → 400 DECRYPT_FAILED', async () => {
      const u = await loginAs();
      const foreign = await fx.wechat.mintOpenData({ openid: u.openid, watermarkAppid: 'wx_other' });
      expect((await decrypt(u.token, foreign)).body.code).toBe('DECRYPT_FAILED');
      const old = await fx.wechat.mintOpenData({
        openid: u.openid,
        watermarkTimestamp: Math.floor(Date.now() / 1000) - 3600,
      });
      const res = await decrypt(u.token, old);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('DECRYPT_FAILED');
      expect(res.body.message).toMatch(/too old/);
    });

    it.each([
      ['phoneNumber alone', { phoneNumber: '13812349999' }],
      ['purePhoneNumber without a country code', { purePhoneNumber: '13812349999' }],
      ['a numeric country code', { purePhoneNumber: '13812349999', countryCode: 86 }],
    ])('an off-shape phone payload (%s) → 400 DECRYPT_FAILED, the number never echoed', async (_n, data) => {
      const u = await loginAs();
      const res = await decrypt(u.token, await fx.wechat.mintOpenData({ openid: u.openid, data }));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('DECRYPT_FAILED');
      expect(res.text).not.toContain('13812349999');
    });

    it('a burst of session checks by one user makes one call to WeChat', async () => {
      const u = await loginAs();
      const before = fx.wechat.callsTo('/wxa/checksession').length;
      const results = await Promise.all(Array.from({ length: 30 }, () => sessionCheck(u.token)));
      expect(results.map((r) => r.status)).toEqual(Array(30).fill(200));
      expect(fx.wechat.callsTo('/wxa/checksession').length - before).toBe(1);
    });

    it('a phone-number payload binds the number and answers it masked only', async () => {
      const u = await loginAs();
      const open = await fx.wechat.mintOpenData({ openid: u.openid, phoneNumber: '13612345678' });
      const res = await decrypt(u.token, open);
      expect(res.status).toBe(200);
      expect(res.body.phone).toEqual({ masked: '136****5678', countryCode: '86' });
      expect(res.text).not.toContain('13612345678');
      const me = await http().get('/users/me').set('authorization', `Bearer ${u.token}`);
      expect(me.body.phone).toBe('136****5678');
    });
  });

  it('no response body carried a session_key, an interface token or a phone code', () => {
    const leaks = findLeaks(
      bodies.map((text, i) => ({ where: `response ${i}`, text })),
      {
        sessionKey: issuedSecrets.sessionKeys,
        accessToken: fx.wechat.accessTokens,
        phoneCode: fx.wechat.phoneCodes,
      },
    );
    expect(leaks).toEqual([]);
  });
});

/** The paid phone lookup under retries: never resent once it may have reached WeChat; refused calls cost nothing. */
describe('phone lookups when WeChat misbehaves (e2e)', () => {
  const fx = useTestApp({
    env: {
      WECHAT_MAX_RETRIES: '2',
      WECHAT_TIMEOUT_MS: '300',
      WECHAT_BREAKER_THRESHOLD: '1000',
      PHONE_LOOKUPS_PER_USER_PER_DAY: '3',
    },
  });

  const loginAs = async (openid: string) => {
    const res = await request(fx.t.server)
      .post('/auth/wechat/login')
      .send({ code: fx.wechat.mint({ openid }) });
    expect(res.status).toBe(200);
    return res.body.accessToken as string;
  };
  const bind = (token: string, code: string) =>
    request(fx.t.server).post('/auth/wechat/phone').set('authorization', `Bearer ${token}`).send({ code });

  it('lookups refused before reaching WeChat (no interface token) are not counted against the cap', async () => {
    const token = await loginAs('o-refund');
    const daily = {
      kind: 'json' as const,
      body: { errcode: 45009, errmsg: 'reach max api daily quota limit' },
    };
    fx.wechat.scriptPath('/cgi-bin/stable_token', daily, daily, daily, daily);
    for (let i = 0; i < 4; i++) {
      const res = await bind(token, await fx.wechat.mintPhoneCode({ openid: 'o-refund' }));
      expect(res.status).toBe(503);
    }
    expect(fx.wechat.callsTo('/wxa/business/getuserphonenumber')).toHaveLength(0);
    // The cap is 3: had the refused ones counted, this would be 429.
    const ok = await bind(
      token,
      await fx.wechat.mintPhoneCode({ openid: 'o-refund', phoneNumber: '13500001111' }),
    );
    expect(ok.status).toBe(200);
  });

  it('a lookup that timed out is not sent again: one call, 503 asking for a new tap', async () => {
    const token = await loginAs('o-timeout');
    const before = fx.wechat.callsTo('/wxa/business/getuserphonenumber').length;
    fx.wechat.scriptPath('/wxa/business/getuserphonenumber', { kind: 'hang' });
    const res = await bind(token, await fx.wechat.mintPhoneCode({ openid: 'o-timeout' }));
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('WX_UNAVAILABLE');
    expect(res.body.message).toMatch(/tap the button again/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(fx.wechat.callsTo('/wxa/business/getuserphonenumber').length - before).toBe(1);
  });
});
