import { createDecipheriv, createHash, createHmac } from 'node:crypto';
import { FakeClock } from '../../common/clock/fake-clock';
import { Random } from '../../common/random/random';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import { NoSandboxSessionError, SandboxWechat, type IssuedSecret } from './sandbox-wechat';

const APPS = new Map([
  ['wxone', 'secret-one'],
  ['wxtwo', 'secret-two'],
]);
const MINUTE = 60_000;
/** 2026-01-01 00:00 UTC is 08:00 in Beijing: 16 h before WeChat's quota day turns. */
const START = Date.UTC(2026, 0, 1);

describe('SandboxWechat', () => {
  let clock: FakeClock;
  let issued: IssuedSecret[];
  let wx: SandboxWechat;

  beforeEach(() => {
    clock = new FakeClock(START);
    issued = [];
    wx = new SandboxWechat(APPS, new MemoryKvStore(clock), new Random(), clock, {
      onIssued: (s) => issued.push(s),
    });
  });

  type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const call = async (method: string, path: string, query: Record<string, string> = {}, body?: unknown) => {
    const res = await wx.handle({ method, path, query: new URLSearchParams(query), body });
    expect(res.status).toBe(200); // WeChat answers errors with HTTP 200 too
    return res.body as Body;
  };
  const exchange = (code: string, appid = 'wxone', secret = APPS.get(appid) ?? 'x') =>
    call('GET', '/sns/jscode2session', { appid, secret, js_code: code, grant_type: 'authorization_code' });
  const stableToken = (body: Record<string, unknown> = {}) =>
    call(
      'POST',
      '/cgi-bin/stable_token',
      {},
      {
        grant_type: 'client_credential',
        appid: 'wxone',
        secret: 'secret-one',
        ...body,
      },
    );
  const token = async (appid = 'wxone') =>
    (await stableToken({ appid, secret: APPS.get(appid) })).access_token as string;
  const phone = (accessToken: string, body: unknown) =>
    call('POST', '/wxa/business/getuserphonenumber', { access_token: accessToken }, body);
  const sign = (key: string) => createHmac('sha256', key).update('').digest('hex');
  const checkSession = (accessToken: string, openid: string, signature: string, sigMethod = 'hmac_sha256') =>
    call('GET', '/wxa/checksession', { access_token: accessToken, openid, signature, sig_method: sigMethod });

  describe('wire format and routing', () => {
    it('answers errors as {errcode, errmsg ending in a rid}', async () => {
      const body = await exchange('nope');
      expect(body).toEqual({
        errcode: 40029,
        errmsg: expect.stringMatching(/^invalid code, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/),
      });
    });

    it.each([
      ['an unknown path', 'GET', '/sns/nothing', 40066],
      ['a path in the wrong case', 'GET', '/sns/jsCode2Session', 40066],
      ['POST to a GET endpoint', 'POST', '/sns/jscode2session', 43001],
      ['GET to a POST endpoint', 'GET', '/cgi-bin/stable_token', 43002],
      ['GET to getuserphonenumber', 'GET', '/wxa/business/getuserphonenumber', 43002],
      ['POST to checksession', 'POST', '/wxa/checksession', 43001],
    ])('%s: %s %s → %i', async (_name, method, path, errcode) => {
      expect(await call(method, path)).toMatchObject({ errcode });
    });

    it('takes the query as a plain record too (first value of a repeated parameter)', async () => {
      const { code } = await wx.mintLoginCode({ openid: 'o-rec' });
      const res = await wx.handle({
        method: 'get',
        path: '/sns/jscode2session',
        query: {
          appid: 'wxone',
          secret: 'secret-one',
          js_code: [code, 'other'],
          grant_type: 'authorization_code',
        },
      });
      expect(res.body).toMatchObject({ openid: 'o-rec' });
    });
  });

  describe('GET /sns/jscode2session', () => {
    it('exchanges a minted code once for openid and the current session_key', async () => {
      const minted = await wx.mintLoginCode({ openid: 'o-1' });
      expect(minted).toEqual({ code: expect.any(String), appid: 'wxone', openid: 'o-1', expiresIn: 300 });
      const body = await exchange(minted.code);
      expect(body).toEqual({ openid: 'o-1', session_key: await wx.currentSessionKey('wxone', 'o-1') });
      expect(Buffer.from(body.session_key, 'base64')).toHaveLength(16);
      expect(await exchange(minted.code)).toMatchObject({ errcode: 40163 });
    });

    it('mints a random openid by default, for the first configured app', async () => {
      const a = await wx.mintLoginCode();
      const b = await wx.mintLoginCode();
      expect(a.appid).toBe('wxone');
      expect(a.openid).not.toBe(b.openid);
      expect(a.code).not.toBe(b.code);
    });

    it('returns the unionid of a user that has one, on later codes too', async () => {
      expect(await exchange((await wx.mintLoginCode({ openid: 'o-u', unionid: 'u-1' })).code)).toMatchObject({
        unionid: 'u-1',
      });
      expect(await exchange((await wx.mintLoginCode({ openid: 'o-u' })).code)).toMatchObject({
        unionid: 'u-1',
      });
      expect(await exchange((await wx.mintLoginCode({ openid: 'o-plain' })).code)).not.toHaveProperty(
        'unionid',
      );
    });

    it.each([
      ['an unknown appid', { appid: 'wxnope' }, 40013],
      ['a wrong secret', { secret: 'wrong' }, 40125],
      ['a missing secret', { secret: undefined }, 40125],
      ['a wrong grant_type', { grant_type: 'client_credential' }, 40029],
      ['a garbage code', { js_code: 'garbage' }, 40029],
      ['no code', { js_code: undefined }, 40029],
    ])('%s %j → %i', async (_name, override, errcode) => {
      const { code } = await wx.mintLoginCode();
      const query: Record<string, string | undefined> = {
        appid: 'wxone',
        secret: 'secret-one',
        js_code: code,
        grant_type: 'authorization_code',
        ...override,
      };
      expect(await wx.handle({ method: 'GET', path: '/sns/jscode2session', query })).toMatchObject({
        body: { errcode },
      });
    });

    it("another app's code, a phone code and an expired code → 40029", async () => {
      const other = await wx.mintLoginCode({ appid: 'wxtwo' });
      expect(await exchange(other.code, 'wxone')).toMatchObject({ errcode: 40029 });
      const phoneCode = await wx.mintPhoneCode({ openid: 'o-p' });
      expect(await exchange(phoneCode.code)).toMatchObject({ errcode: 40029 });
      const old = await wx.mintLoginCode();
      clock.advance(5 * MINUTE);
      expect(await exchange(old.code)).toMatchObject({ errcode: 40029 });
      // Still good for the app it was minted for, until it expires.
      expect(await exchange((await wx.mintLoginCode({ appid: 'wxtwo' })).code, 'wxtwo')).toHaveProperty(
        'openid',
      );
    });

    it('rotates the session_key at every mint unless keepSessionKey', async () => {
      const first = await wx.mintLoginCode({ openid: 'o-rot' });
      const k1 = await wx.currentSessionKey('wxone', 'o-rot');
      const second = await wx.mintLoginCode({ openid: 'o-rot' });
      const k2 = await wx.currentSessionKey('wxone', 'o-rot');
      expect(k2).not.toBe(k1);
      // One valid key per user: even the older code now hands out the current one.
      expect((await exchange(first.code)).session_key).toBe(k2);
      await wx.mintLoginCode({ openid: 'o-rot', keepSessionKey: true });
      expect(await wx.currentSessionKey('wxone', 'o-rot')).toBe(k2);
      expect((await exchange(second.code)).session_key).toBe(k2);
      // Per (appid, openid): the same openid in another app has its own key.
      await wx.mintLoginCode({ appid: 'wxtwo', openid: 'o-rot' });
      expect(await wx.currentSessionKey('wxone', 'o-rot')).toBe(k2);
      expect(await wx.currentSessionKey('wxtwo', 'o-rot')).not.toBe(k2);
      expect(await wx.currentSessionKey('wxone', 'o-never')).toBeUndefined();
    });
  });

  describe('POST /cgi-bin/stable_token', () => {
    it('gives every caller the same token while it is valid, with the remaining lifetime', async () => {
      const first = await stableToken();
      expect(first).toEqual({ access_token: expect.any(String), expires_in: 7200 });
      expect(first.access_token.length).toBeGreaterThanOrEqual(32);
      clock.advance(10 * MINUTE);
      expect(await stableToken()).toEqual({ access_token: first.access_token, expires_in: 6600 });
      expect(await stableToken({ force_refresh: false })).toMatchObject({ access_token: first.access_token });
      // Per app.
      expect(await token('wxtwo')).not.toBe(first.access_token);
    });

    it('renews in the last 5 minutes; old and new both work until the old one expires', async () => {
      const old = await token();
      clock.advance(7200_000 - 5 * MINUTE); // exactly 300 s left
      const renewed = await stableToken();
      expect(renewed).toEqual({ access_token: expect.any(String), expires_in: 7200 });
      expect(renewed.access_token).not.toBe(old);
      expect(await stableToken()).toMatchObject({ access_token: renewed.access_token });
      expect(await checkSession(old, 'o-none', 'x')).toMatchObject({ errcode: 87009 }); // token accepted
      clock.advance(5 * MINUTE);
      expect(await checkSession(old, 'o-none', 'x')).toMatchObject({ errcode: 42001 });
      expect(await checkSession(renewed.access_token, 'o-none', 'x')).toMatchObject({ errcode: 87009 });
    });

    it('hands concurrent first callers and concurrent renewers one token (several servers share it)', async () => {
      const first = new Set((await Promise.all(Array.from({ length: 10 }, () => token()))).values());
      expect(first.size).toBe(1);
      clock.advance(7200_000 - MINUTE);
      const renewed = new Set((await Promise.all(Array.from({ length: 10 }, () => token()))).values());
      expect(renewed.size).toBe(1);
      expect([...renewed][0]).not.toBe([...first][0]);
      // The losers' candidates were withdrawn: only the two tokens handed out are valid.
      const valid = [];
      for (const s of issued.filter((i) => i.kind === 'accessToken')) {
        if ((await checkSession(s.value, 'o', 'x')).errcode === 87009) valid.push(s.value);
      }
      expect(valid.sort()).toEqual([...first, ...renewed].sort());
    });

    it('issues a new token once the old one has expired unused', async () => {
      const old = await token();
      clock.advance(7200_000);
      const fresh = await token();
      expect(fresh).not.toBe(old);
      expect(await checkSession(old, 'o', 'x')).toMatchObject({ errcode: 42001 });
    });

    it('force_refresh issues a new token and invalidates the old one at once (40001)', async () => {
      const old = await token();
      clock.advance(MINUTE);
      const forced = await stableToken({ force_refresh: true });
      expect(forced).toEqual({ access_token: expect.any(String), expires_in: 7200 });
      expect(forced.access_token).not.toBe(old);
      expect(await checkSession(old, 'o', 'x')).toMatchObject({ errcode: 40001 });
      expect(await checkSession(forced.access_token, 'o', 'x')).toMatchObject({ errcode: 87009 });
      expect(await token()).toBe(forced.access_token);
    });

    it('force_refresh also invalidates the token being replaced in the renewal window', async () => {
      const old = await token();
      clock.advance(7200_000 - MINUTE);
      const renewed = await token();
      const forced = (await stableToken({ force_refresh: true })).access_token as string;
      for (const t of [old, renewed])
        expect(await checkSession(t, 'o', 'x')).toMatchObject({ errcode: 40001 });
      expect(await checkSession(forced, 'o', 'x')).toMatchObject({ errcode: 87009 });
    });

    it('force_refresh within 30 s of the last one does not refresh (the current token comes back)', async () => {
      const forced = (await stableToken({ force_refresh: true })).access_token;
      clock.advance(29_000);
      expect(await stableToken({ force_refresh: true })).toEqual({ access_token: forced, expires_in: 7171 });
      clock.advance(1_000);
      expect((await stableToken({ force_refresh: true })).access_token).not.toBe(forced);
    });

    it('force_refresh: 20 a day, then 45009 until the next (Beijing) day; normal mode is unaffected', async () => {
      for (let i = 0; i < 20; i++) {
        expect(await stableToken({ force_refresh: true })).toHaveProperty('access_token');
        clock.advance(30_000);
      }
      expect(await stableToken({ force_refresh: true })).toMatchObject({
        errcode: 45009,
        errmsg: expect.stringContaining('reach max api daily quota limit'),
      });
      expect(await stableToken()).toHaveProperty('access_token');
      // Another app has its own 20.
      expect(await stableToken({ appid: 'wxtwo', secret: 'secret-two', force_refresh: true })).toHaveProperty(
        'access_token',
      );
      clock.advance(16 * 60 * MINUTE); // past midnight in Beijing (UTC+8)
      expect(await stableToken({ force_refresh: true })).toHaveProperty('access_token');
    });

    it.each([
      ['a wrong grant_type', { grant_type: 'authorization_code' }, 40002],
      ['an unknown appid', { appid: 'wxnope' }, 40013],
      ['a wrong secret', { secret: 'secret-two' }, 40125],
      ['a non-boolean force_refresh', { force_refresh: 'yes' }, 47001],
    ])('%s %j → %i', async (_name, override, errcode) => {
      expect(await stableToken(override)).toMatchObject({ errcode });
    });

    it('no body → 44002, a body that is not a JSON object → 47001', async () => {
      expect(await call('POST', '/cgi-bin/stable_token')).toMatchObject({ errcode: 44002 });
      expect(await call('POST', '/cgi-bin/stable_token', {}, 'grant_type=client_credential')).toMatchObject({
        errcode: 47001,
      });
      expect(await call('POST', '/cgi-bin/stable_token', {}, [1])).toMatchObject({ errcode: 47001 });
    });

    it('issueAccessToken installs a known token as the current one', async () => {
      await token(); // an earlier normal-mode token must not come back once the installed one expires
      await wx.issueAccessToken('wxone', {
        token: 'known-token-0123456789-abcdefghijklmnop',
        expiresIn: 600,
      });
      expect(await stableToken()).toMatchObject({ access_token: 'known-token-0123456789-abcdefghijklmnop' });
      clock.advance(600_000);
      expect(await checkSession('known-token-0123456789-abcdefghijklmnop', 'o', 'x')).toMatchObject({
        errcode: 42001,
      });
      const next = await token();
      expect(next).not.toBe('known-token-0123456789-abcdefghijklmnop');
      expect(await token()).toBe(next);
    });
  });

  describe('POST /wxa/business/getuserphonenumber', () => {
    it('exchanges a phone code once for the number, watermarked with the app and the tap time', async () => {
      const { code, expiresIn } = await wx.mintPhoneCode({ openid: 'o-ph', phoneNumber: '13912345678' });
      expect(expiresIn).toBe(300);
      const tappedAt = clock.nowSeconds();
      const t = await token();
      clock.advance(MINUTE);
      expect(await phone(t, { code, openid: 'o-ph' })).toEqual({
        errcode: 0,
        errmsg: 'ok',
        phone_info: {
          phoneNumber: '13912345678',
          purePhoneNumber: '13912345678',
          countryCode: '86',
          watermark: { timestamp: tappedAt, appid: 'wxone' },
        },
      });
      expect(await phone(t, { code })).toMatchObject({ errcode: 40029 });
    });

    it('defaults to a random CN mobile; a non-CN number gets the +CC prefix', async () => {
      const t = await token();
      const cn = await phone(t, { code: (await wx.mintPhoneCode({ openid: 'o' })).code });
      expect(cn.phone_info).toMatchObject({
        phoneNumber: expect.stringMatching(/^138\d{8}$/),
        countryCode: '86',
      });
      const us = await phone(t, {
        code: (await wx.mintPhoneCode({ openid: 'o', phoneNumber: '2025550123', countryCode: '1' })).code,
      });
      expect(us.phone_info).toMatchObject({
        phoneNumber: '+12025550123',
        purePhoneNumber: '2025550123',
        countryCode: '1',
      });
    });

    it('a login code, garbage, an expired code, another app’s code → 40029', async () => {
      const t = await token();
      expect(await phone(t, { code: (await wx.mintLoginCode()).code })).toMatchObject({ errcode: 40029 });
      expect(await phone(t, { code: 'garbage' })).toMatchObject({ errcode: 40029 });
      const other = await wx.mintPhoneCode({ appid: 'wxtwo', openid: 'o' });
      expect(await phone(t, { code: other.code })).toMatchObject({ errcode: 40029 });
      expect(await phone(await token('wxtwo'), { code: other.code })).toMatchObject({ errcode: 0 });
      const old = await wx.mintPhoneCode({ openid: 'o' });
      clock.advance(5 * MINUTE);
      expect(await phone(await token(), { code: old.code })).toMatchObject({ errcode: 40029 });
    });

    it("an openid that is not the code's user → 40029, without spending the code", async () => {
      const t = await token();
      const { code } = await wx.mintPhoneCode({ openid: 'o-owner' });
      expect(await phone(t, { code, openid: 'o-someone-else' })).toMatchObject({ errcode: 40029 });
      expect(await phone(t, { code, openid: 'o-owner' })).toMatchObject({ errcode: 0 });
    });

    it('checks the access_token: missing 41001, unknown 40001, expired 42001', async () => {
      const { code } = await wx.mintPhoneCode({ openid: 'o' });
      expect(await call('POST', '/wxa/business/getuserphonenumber', {}, { code })).toMatchObject({
        errcode: 41001,
      });
      expect(await phone('not-a-token', { code })).toMatchObject({ errcode: 40001 });
      const t = await token();
      clock.advance(7200_000);
      expect(await phone(t, { code })).toMatchObject({ errcode: 42001 });
    });

    it('a missing code → 41008; malformed bodies → 44002 / 47001', async () => {
      const t = await token();
      expect(await phone(t, {})).toMatchObject({ errcode: 41008 });
      expect(await phone(t, undefined)).toMatchObject({ errcode: 44002 });
      expect(await phone(t, { code: 42 })).toMatchObject({ errcode: 47001 });
      expect(await phone(t, 'code=x')).toMatchObject({ errcode: 47001 });
    });
  });

  describe('GET /wxa/checksession', () => {
    it("accepts the current key's signature and rejects it after a wx.login rotated the key (87009)", async () => {
      const t = await token();
      await wx.mintLoginCode({ openid: 'o-cs' });
      const k1 = (await wx.currentSessionKey('wxone', 'o-cs'))!;
      expect(await checkSession(t, 'o-cs', sign(k1))).toEqual({ errcode: 0, errmsg: 'ok' });
      await wx.mintLoginCode({ openid: 'o-cs' });
      expect(await checkSession(t, 'o-cs', sign(k1))).toMatchObject({
        errcode: 87009,
        errmsg: expect.stringContaining('invalid signature'),
      });
      const k2 = (await wx.currentSessionKey('wxone', 'o-cs'))!;
      expect(await checkSession(t, 'o-cs', sign(k2))).toEqual({ errcode: 0, errmsg: 'ok' });
    });

    it('signs with the key string, over the empty string only', async () => {
      const t = await token();
      await wx.mintLoginCode({ openid: 'o-sig' });
      const key = (await wx.currentSessionKey('wxone', 'o-sig'))!;
      const decodedKeySig = createHmac('sha256', Buffer.from(key, 'base64')).update('').digest('hex');
      expect(await checkSession(t, 'o-sig', decodedKeySig)).toMatchObject({ errcode: 87009 });
      const otherMessage = createHmac('sha256', key).update('o-sig').digest('hex');
      expect(await checkSession(t, 'o-sig', otherMessage)).toMatchObject({ errcode: 87009 });
    });

    it('an unknown openid, another sig_method or no signature → 87009; no openid → 41009', async () => {
      const t = await token();
      await wx.mintLoginCode({ openid: 'o-x' });
      const sig = sign((await wx.currentSessionKey('wxone', 'o-x'))!);
      expect(await checkSession(t, 'o-unknown', sig)).toMatchObject({ errcode: 87009 });
      expect(await checkSession(t, 'o-x', sig, 'hmac_sha1')).toMatchObject({ errcode: 87009 });
      expect(await checkSession(t, 'o-x', '')).toMatchObject({ errcode: 87009 });
      // The user is per app: another app's token does not see it.
      expect(await checkSession(await token('wxtwo'), 'o-x', sig)).toMatchObject({ errcode: 87009 });
      expect(await checkSession(t, '', sig)).toMatchObject({ errcode: 41009 });
    });

    it('checks the access_token like every token endpoint', async () => {
      expect(
        await call('GET', '/wxa/checksession', { openid: 'o', signature: 'x', sig_method: 'hmac_sha256' }),
      ).toMatchObject({ errcode: 41001 });
      expect(await checkSession('bogus', 'o', 'x')).toMatchObject({ errcode: 40001 });
    });
  });

  describe('legacy open data', () => {
    const decrypt = (d: { encryptedData: string; iv: string }, key: string) => {
      const decipher = createDecipheriv(
        'aes-128-cbc',
        Buffer.from(key, 'base64'),
        Buffer.from(d.iv, 'base64'),
      );
      const plain = Buffer.concat([
        decipher.update(Buffer.from(d.encryptedData, 'base64')),
        decipher.final(),
      ]);
      return JSON.parse(plain.toString('utf8')) as Body;
    };
    const sha1 = (s: string) => createHash('sha1').update(s, 'utf8').digest('hex');

    it('encrypts the data plus watermark with the current session_key; signature = sha1(rawData + key)', async () => {
      await wx.mintLoginCode({ openid: 'o-od' });
      const key = (await wx.currentSessionKey('wxone', 'o-od'))!;
      const data = { nickName: '小明 🐼', gender: 1 };
      const od = await wx.mintOpenData({ openid: 'o-od', data });
      expect(Buffer.from(od.iv, 'base64')).toHaveLength(16);
      expect(decrypt(od, key)).toEqual({
        ...data,
        watermark: { appid: 'wxone', timestamp: clock.nowSeconds() },
      });
      expect(JSON.parse(od.rawData)).toEqual(data);
      expect(od.signature).toBe(sha1(od.rawData + key));
      expect(od.signature).toMatch(/^[0-9a-f]{40}$/);
      // A fresh iv each time.
      expect((await wx.mintOpenData({ openid: 'o-od', data })).iv).not.toBe(od.iv);
    });

    it('defaults to a userInfo-like object; phoneNumber makes phone data', async () => {
      await wx.mintLoginCode({ openid: 'o-od2' });
      const key = (await wx.currentSessionKey('wxone', 'o-od2'))!;
      expect(decrypt(await wx.mintOpenData({ openid: 'o-od2' }), key)).toMatchObject({
        nickName: expect.any(String),
        avatarUrl: expect.any(String),
        watermark: { appid: 'wxone' },
      });
      const od = await wx.mintOpenData({ openid: 'o-od2', phoneNumber: '2025550123', countryCode: '1' });
      expect(JSON.parse(od.rawData)).toEqual({
        phoneNumber: '+12025550123',
        purePhoneNumber: '2025550123',
        countryCode: '1',
      });
      expect(decrypt(od, key)).toMatchObject({
        purePhoneNumber: '2025550123',
        watermark: { appid: 'wxone' },
      });
    });

    it('takes watermark overrides, for stale or foreign data', async () => {
      await wx.mintLoginCode({ appid: 'wxtwo', openid: 'o-wm' });
      const key = (await wx.currentSessionKey('wxtwo', 'o-wm'))!;
      const od = await wx.mintOpenData({
        appid: 'wxtwo',
        openid: 'o-wm',
        data: { a: 1 },
        watermarkTimestamp: 1_000,
        watermarkAppid: 'wxother',
      });
      expect(decrypt(od, key)).toEqual({ a: 1, watermark: { appid: 'wxother', timestamp: 1_000 } });
    });

    it('data minted before a key rotation no longer verifies with the new key', async () => {
      await wx.mintLoginCode({ openid: 'o-stale' });
      const od = await wx.mintOpenData({ openid: 'o-stale' });
      await wx.mintLoginCode({ openid: 'o-stale' });
      const newKey = (await wx.currentSessionKey('wxone', 'o-stale'))!;
      expect(od.signature).not.toBe(sha1(od.rawData + newKey));
    });

    it('refuses a user without a session', async () => {
      await expect(wx.mintOpenData({ openid: 'o-never' })).rejects.toBeInstanceOf(NoSandboxSessionError);
    });
  });

  it('two instances sharing a store act as one WeChat (codes, keys, tokens)', async () => {
    const store = new MemoryKvStore(clock);
    const a = new SandboxWechat(APPS, store, new Random(), clock);
    const b = new SandboxWechat(APPS, store, new Random(), clock);
    const { code } = await a.mintLoginCode({ openid: 'o-shared' });
    const onB = await b.handle({
      method: 'GET',
      path: '/sns/jscode2session',
      query: { appid: 'wxone', secret: 'secret-one', js_code: code, grant_type: 'authorization_code' },
    });
    expect(onB.body).toMatchObject({ session_key: await a.currentSessionKey('wxone', 'o-shared') });
    const tokenBody = { grant_type: 'client_credential', appid: 'wxone', secret: 'secret-one' };
    const [ta, tb] = await Promise.all(
      [a, b].map((s) =>
        s.handle({ method: 'POST', path: '/cgi-bin/stable_token', query: {}, body: tokenBody }),
      ),
    );
    expect(ta.body.access_token).toBe(tb.body.access_token);
  });

  it('reports every secret it hands out, so tests can check logs for them', async () => {
    const { code } = await wx.mintLoginCode({ openid: 'o-s' });
    const key = await wx.currentSessionKey('wxone', 'o-s');
    await wx.mintLoginCode({ openid: 'o-s', keepSessionKey: true });
    const phoneCode = (await wx.mintPhoneCode({ openid: 'o-s' })).code;
    const t = await token();
    await wx.mintOpenData({ openid: 'o-s', phoneNumber: '13700001111' });
    expect(issued).toEqual(
      expect.arrayContaining([
        { kind: 'loginCode', value: code },
        { kind: 'sessionKey', value: key },
        { kind: 'phoneCode', value: phoneCode },
        { kind: 'phoneNumber', value: expect.stringMatching(/^138\d{8}$/) },
        { kind: 'phoneNumber', value: '13700001111' },
        { kind: 'accessToken', value: t },
      ]),
    );
    // A kept key is not reported twice.
    expect(issued.filter((s) => s.kind === 'sessionKey')).toHaveLength(1);
  });
});
