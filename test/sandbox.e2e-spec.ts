import { createDecipheriv, createHash, createHmac } from 'node:crypto';
import request from 'supertest';
import { SandboxWechat } from '../src/wechat-auth/sandbox/sandbox-wechat';
import { findLeaks } from './support/leak-check';
import { useSandboxApp } from './support/use-test-app';

/** The README's newcomer walk-through, on the built-in WeChat sandbox (the real client code path, over HTTP). */
describe('WeChat sandbox (e2e)', () => {
  const fx = useSandboxApp({ apps: '' });
  const { http } = fx;
  /** Everything secret the sandbox handed out over HTTP here, checked against the app's logs at the end. */
  const handedOut: Record<string, string[]> = { code: [], phoneCode: [], accessToken: [], sessionKey: [] };
  const sessionKey = async (openid: string) => {
    const key = (await fx.t.app.get(SandboxWechat).currentSessionKey('wxsandbox', openid))!;
    handedOut.sessionKey.push(key);
    return key;
  };
  const mint = async (body: Record<string, unknown> = {}) => {
    const res = await http().post('/sandbox/wechat/codes').send(body);
    expect(res.status).toBe(201);
    handedOut.code.push(res.body.code);
    return res.body as { code: string; appid: string; openid: string; expiresIn: number };
  };
  /** WeChat's answers are JSON labelled text/plain. */
  const wx = (res: request.Response) => {
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    return JSON.parse(res.text) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const accessToken = async () => {
    const body = wx(
      await http()
        .post('/sandbox/wechat/cgi-bin/stable_token')
        .send({
          grant_type: 'client_credential',
          appid: 'wxsandbox',
          secret: fx.t.config.wechat.apps.get('wxsandbox')!.secret,
        }),
    );
    handedOut.accessToken.push(body.access_token);
    return body.access_token as string;
  };

  it('mints a code, logs in, calls /users/me, refreshes and logs out', async () => {
    expect(fx.t.config.wechat.apiBase).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sandbox\/wechat$/);
    const minted = await mint({ openid: 'o-newcomer' });
    expect(minted).toMatchObject({ appid: 'wxsandbox', openid: 'o-newcomer', expiresIn: 300 });

    const login = await http().post('/auth/wechat/login').send({ code: minted.code });
    expect(login.status).toBe(200);
    expect(login.body.user.isNew).toBe(true);

    const reused = await http().post('/auth/wechat/login').send({ code: minted.code });
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
    expect(wx(res)).toMatchObject({ errcode: 40125, errmsg: expect.stringMatching(/rid: \S+$/) });
  });

  it('answers unknown paths 40066 (case-sensitive) and the wrong method 43001/43002', async () => {
    expect(wx(await http().get('/sandbox/wechat/sns/nothing'))).toMatchObject({ errcode: 40066 });
    expect(wx(await http().get('/sandbox/wechat/sns/jsCode2Session'))).toMatchObject({ errcode: 40066 });
    expect(wx(await http().post('/sandbox/wechat/wxa/x/y').send({}))).toMatchObject({ errcode: 40066 });
    expect(wx(await http().get('/sandbox/wechat/cgi-bin/stable_token'))).toMatchObject({ errcode: 43002 });
    expect(wx(await http().post('/sandbox/wechat/sns/jscode2session').send({}))).toMatchObject({
      errcode: 43001,
    });
  });

  it('exchanges a code over HTTP for the current session_key; a new code rotates it unless keepSessionKey', async () => {
    const exchange = async (code: string) =>
      wx(
        await http()
          .get('/sandbox/wechat/sns/jscode2session')
          .query({
            appid: 'wxsandbox',
            secret: fx.t.config.wechat.apps.get('wxsandbox')!.secret,
            js_code: code,
            grant_type: 'authorization_code',
          }),
      );
    const first = await mint({ openid: 'o-rotate', unionid: 'u-rotate' });
    const k1 = await sessionKey('o-rotate');
    expect(await exchange(first.code)).toEqual({ openid: 'o-rotate', session_key: k1, unionid: 'u-rotate' });
    const second = await mint({ openid: 'o-rotate', keepSessionKey: true });
    expect((await exchange(second.code)).session_key).toBe(k1);
    await mint({ openid: 'o-rotate' });
    expect(await sessionKey('o-rotate')).not.toBe(k1);

    const bad = await http().post('/sandbox/wechat/codes').send({ keepSessionKey: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it('hands out one stable_token and exchanges a minted phone code with it, once', async () => {
    const token = await accessToken();
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(await accessToken()).toBe(token);

    const minted = await http()
      .post('/sandbox/wechat/phone-codes')
      .send({ openid: 'o-phone', phoneNumber: '13912345678' });
    expect(minted.status).toBe(201);
    expect(minted.body).toEqual({ code: expect.any(String), expiresIn: 300 });
    handedOut.phoneCode.push(minted.body.code);

    const lookup = () =>
      http()
        .post('/sandbox/wechat/wxa/business/getuserphonenumber')
        .query({ access_token: token })
        .send({ code: minted.body.code, openid: 'o-phone' });
    expect(wx(await lookup())).toEqual({
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        phoneNumber: '13912345678',
        purePhoneNumber: '13912345678',
        countryCode: '86',
        watermark: { timestamp: expect.any(Number), appid: 'wxsandbox' },
      },
    });
    expect(wx(await lookup())).toMatchObject({ errcode: 40029 });

    const loginCode = await mint({ openid: 'o-phone' });
    const wrongKind = await http()
      .post('/sandbox/wechat/wxa/business/getuserphonenumber')
      .query({ access_token: token })
      .send({ code: loginCode.code });
    expect(wx(wrongKind)).toMatchObject({ errcode: 40029 });
    const noToken = await http().post('/sandbox/wechat/wxa/business/getuserphonenumber').send({ code: 'x' });
    expect(wx(noToken)).toMatchObject({ errcode: 41001 });

    const missingOpenid = await http()
      .post('/sandbox/wechat/phone-codes')
      .send({ phoneNumber: '13912345678' });
    expect(missingOpenid.status).toBe(400);
    expect(missingOpenid.body.code).toBe('VALIDATION_FAILED');
  });

  it('checksession accepts the current key and answers 87009 once a new wx.login rotated it', async () => {
    const token = await accessToken();
    await mint({ openid: 'o-check' });
    const check = async (key: string) =>
      wx(
        await http()
          .get('/sandbox/wechat/wxa/checksession')
          .query({
            access_token: token,
            openid: 'o-check',
            signature: createHmac('sha256', key).update('').digest('hex'),
            sig_method: 'hmac_sha256',
          }),
      );
    const old = await sessionKey('o-check');
    expect(await check(old)).toEqual({ errcode: 0, errmsg: 'ok' });
    await mint({ openid: 'o-check' });
    expect(await check(old)).toMatchObject({ errcode: 87009 });
    expect(await check(await sessionKey('o-check'))).toEqual({ errcode: 0, errmsg: 'ok' });
  });

  it('mints legacy open data that decrypts with the session_key and carries a valid signature', async () => {
    await mint({ openid: 'o-open' });
    const res = await http()
      .post('/sandbox/wechat/open-data')
      .send({ openid: 'o-open', data: { nickName: '小明' }, watermarkTimestamp: 1_700_000_000 });
    expect(res.status).toBe(201);
    const key = await sessionKey('o-open');
    const { encryptedData, iv, rawData, signature } = res.body;
    const decipher = createDecipheriv('aes-128-cbc', Buffer.from(key, 'base64'), Buffer.from(iv, 'base64'));
    const plain = Buffer.concat([decipher.update(Buffer.from(encryptedData, 'base64')), decipher.final()]);
    expect(JSON.parse(plain.toString('utf8'))).toEqual({
      nickName: '小明',
      watermark: { appid: 'wxsandbox', timestamp: 1_700_000_000 },
    });
    expect(rawData).toBe(JSON.stringify({ nickName: '小明' }));
    expect(signature).toBe(
      createHash('sha1')
        .update(rawData + key)
        .digest('hex'),
    );

    const noSession = await http().post('/sandbox/wechat/open-data').send({ openid: 'o-never-logged-in' });
    expect(noSession.status).toBe(409);
    expect(noSession.body.code).toBe('NO_WECHAT_SESSION');
  });

  it('logs none of the codes, keys and tokens the sandbox handed out', () => {
    expect(handedOut.accessToken.length).toBeGreaterThan(0);
    expect(
      findLeaks(
        fx.t.logs.map((text, i) => ({ where: `log line ${i}`, text })),
        handedOut,
      ),
    ).toEqual([]);
  });
});
