import { FakeClock } from '../../common/clock/fake-clock';
import { Random } from '../../common/random/random';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import { SandboxWechat } from './sandbox-wechat';

const APPS = new Map([
  ['wxone', 'secret-one'],
  ['wxtwo', 'secret-two'],
]);

describe('SandboxWechat: POST /wxa/getuserriskrank', () => {
  let wx: SandboxWechat;
  let accessToken: string;

  beforeEach(async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    wx = new SandboxWechat(APPS, new MemoryKvStore(clock), new Random(), clock);
    accessToken = (await wx.issueAccessToken('wxone')).access_token;
  });

  const rank = async (body: unknown, token = accessToken, method = 'POST') =>
    (await wx.handle({ method, path: '/wxa/getuserriskrank', query: { access_token: token }, body })).body;
  const ask = (openid: string, over: Record<string, unknown> = {}) =>
    rank({ appid: 'wxone', openid, scene: 0, client_ip: '203.0.113.7', ...over });

  it('answers the rank the last login-code mint chose for the user, 0 by default', async () => {
    await wx.mintLoginCode({ appid: 'wxone', openid: 'o-a' });
    expect(await ask('o-a')).toEqual({
      errcode: 0,
      errmsg: 'getuserriskrank succ',
      risk_rank: 0,
      unoin_id: expect.any(Number),
    });
    await wx.mintLoginCode({ appid: 'wxone', openid: 'o-a', riskRank: 4 });
    expect(await ask('o-a')).toMatchObject({ errcode: 0, risk_rank: 4 });
    await wx.mintLoginCode({ appid: 'wxone', openid: 'o-a' });
    expect(await ask('o-a')).toMatchObject({ errcode: 0, risk_rank: 0 });
  });

  it('answers a chosen errcode (e.g. -1, system busy) until the next mint', async () => {
    await wx.mintLoginCode({ appid: 'wxone', openid: 'o-b', riskErrcode: -1 });
    expect(await ask('o-b')).toMatchObject({
      errcode: -1,
      errmsg: expect.stringMatching(/^system error, rid: /),
    });
    await wx.mintLoginCode({ appid: 'wxone', openid: 'o-b', riskRank: 2 });
    expect(await ask('o-b')).toMatchObject({ errcode: 0, risk_rank: 2 });
  });

  it('refuses what WeChat refuses: scene, missing fields, another app, an unknown user, GET, no token', async () => {
    await wx.mintLoginCode({ appid: 'wxone', openid: 'o-c' });
    expect(await ask('o-c', { scene: 2 })).toMatchObject({ errcode: 40129 });
    expect(await ask('o-c', { client_ip: undefined })).toMatchObject({ errcode: 47001 });
    expect(await ask('o-c', { client_ip: 'not-an-ip' })).toMatchObject({ errcode: 47001 });
    expect(await ask('o-c', { appid: 'wxtwo' })).toMatchObject({ errcode: 43104 });
    expect(await ask('o-never')).toMatchObject({ errcode: 61010 });
    expect(await rank(undefined)).toMatchObject({ errcode: 44002 });
    expect(await rank({}, accessToken, 'GET')).toMatchObject({ errcode: 43002 });
    expect(await rank({}, '')).toMatchObject({ errcode: 41001 });
  });
});
