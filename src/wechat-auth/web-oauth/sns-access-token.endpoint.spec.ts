import { WechatUpstreamError } from '../upstream/wechat-upstream.error';
import { meaningOf } from '../upstream/wechat-endpoint';
import { SnsAccessTokenCall, SnsUserInfoCall } from './sns-access-token.endpoint';

const OPENID = 'oAbCdEfGhIjKlMnOpQrStUvWxYz0';
const APP = { appid: 'wxoa', secret: 'oa-secret' };

describe('SnsAccessTokenCall', () => {
  const call = new SnsAccessTokenCall();

  it('asks WeChat with appid, secret, code and grant_type=authorization_code; logs a tag, not the code', () => {
    expect(call.request(APP, 'the-code')).toEqual({
      method: 'GET',
      path: '/sns/oauth2/access_token',
      query: { appid: 'wxoa', secret: 'oa-secret', code: 'the-code', grant_type: 'authorization_code' },
    });
    expect(JSON.stringify(call.logContext('the-code'))).not.toContain('the-code');
    expect(call.noResendAfterDoubt).toBe(true);
  });

  it('reads openid, unionid, scope, the user token and is_snapshotuser', () => {
    expect(
      call.parse({
        access_token: 'AT',
        expires_in: 7200,
        openid: OPENID,
        scope: 'snsapi_userinfo',
        unionid: 'u1',
      }),
    ).toEqual({
      openid: OPENID,
      accessToken: 'AT',
      unionid: 'u1',
      scope: 'snsapi_userinfo',
      isSnapshotUser: false,
    });
    expect(call.parse({ access_token: 'AT', openid: OPENID, is_snapshotuser: 1, unionid: '' })).toEqual({
      openid: OPENID,
      accessToken: 'AT',
      isSnapshotUser: true,
    });
  });

  it('refuses answers it cannot trust', () => {
    for (const body of [
      {},
      { access_token: 'AT' },
      { openid: OPENID },
      { access_token: 'AT', openid: 'bad openid' },
      { access_token: 'AT', openid: OPENID, unionid: 42 },
      { access_token: 'A T', openid: OPENID },
    ])
      expect(() => call.parse(body)).toThrow(WechatUpstreamError);
  });

  it("maps WeChat's code errors; a refused user token never replaces the interface token", () => {
    expect(meaningOf(call, 40029)?.error).toBe('WX_CODE_INVALID');
    expect(meaningOf(call, 40163)?.error).toBe('WX_CODE_USED');
    expect(meaningOf(call, 40226)?.error).toBe('WX_USER_BLOCKED');
    for (const errcode of [40001, 40014, 42001]) expect(meaningOf(call, errcode)?.tokenRejected).toBeFalsy();
  });
});

describe('SnsUserInfoCall', () => {
  const call = new SnsUserInfoCall();

  it('sends the user token and openid, logs neither', () => {
    const input = { accessToken: 'user-token', openid: OPENID };
    expect(call.request(APP, input).query).toEqual({
      access_token: 'user-token',
      openid: OPENID,
      lang: 'zh_CN',
    });
    expect(JSON.stringify(call.logContext())).not.toContain('user-token');
    for (const errcode of [40001, 40014, 42001]) expect(meaningOf(call, errcode)?.tokenRejected).toBeFalsy();
  });

  it('keeps nickname, an http(s) avatar and the unionid', () => {
    expect(
      call.parse({
        openid: OPENID,
        nickname: 'Alice',
        headimgurl: 'https://thirdwx.qlogo.cn/a/132',
        unionid: 'u1',
      }),
    ).toEqual({
      openid: OPENID,
      nickname: 'Alice',
      avatarUrl: 'https://thirdwx.qlogo.cn/a/132',
      unionid: 'u1',
    });
    expect(call.parse({ openid: OPENID, nickname: '', headimgurl: '' })).toEqual({ openid: OPENID });
    expect(call.parse({ openid: OPENID, headimgurl: 'javascript:alert(1)' })).toEqual({ openid: OPENID });
    expect(() => call.parse({ nickname: 'x' })).toThrow(WechatUpstreamError);
  });
});
