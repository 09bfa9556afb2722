import { codeTag } from '../login/code2session.endpoint';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';
import { AppAccessTokenCall } from './app-access-token.endpoint';

const APP = { appid: 'wxmobile', secret: 'secret-mobile', kind: 'app' as const };
const ANSWER = {
  access_token: 'ACCESS_TOKEN_OF_THE_USER',
  expires_in: 7200,
  refresh_token: 'REFRESH_TOKEN_OF_THE_USER',
  openid: 'o-app-1',
  scope: 'snsapi_userinfo',
  unionid: 'u-1',
};

describe('AppAccessTokenCall', () => {
  const call = new AppAccessTokenCall(false);

  it('GETs /sns/oauth2/access_token with appid, secret, code and grant_type, without an interface token', () => {
    expect(call.usesAccessToken).toBe(false);
    expect(call.request(APP, 'code-1')).toEqual({
      method: 'GET',
      path: '/sns/oauth2/access_token',
      query: { appid: 'wxmobile', secret: 'secret-mobile', code: 'code-1', grant_type: 'authorization_code' },
    });
    expect(call.logContext('code-1')).toEqual({ code: codeTag('code-1') });
  });

  it('keeps the openid and unionid only: never the user’s access or refresh token', () => {
    const result = call.parse(ANSWER);
    expect(result).toEqual({ openid: 'o-app-1', unionid: 'u-1' });
    expect(JSON.stringify(result)).not.toContain('TOKEN_OF_THE_USER');
    expect(call.parse({ ...ANSWER, unionid: undefined })).toEqual({ openid: 'o-app-1' });
    expect(call.parse({ ...ANSWER, unionid: '' })).toEqual({ openid: 'o-app-1' });
  });

  it.each([
    ['no openid', { ...ANSWER, openid: undefined }],
    ['an openid that is not an id', { ...ANSWER, openid: 'o 1' }],
    ['no access_token', { ...ANSWER, access_token: undefined }],
    ['a malformed unionid', { ...ANSWER, unionid: 'u/1' }],
  ])('%s → unparsable', (_label, body) => {
    expect(() => call.parse(body)).toThrow(WechatUpstreamError);
  });

  it('maps 40029, 40163 and 40226 like the mini-program login', () => {
    expect(call.errcodes[40029]).toEqual({ error: 'WX_CODE_INVALID' });
    expect(call.errcodes[40163]).toEqual({ error: 'WX_CODE_USED' });
    expect(call.errcodes[40226]).toEqual({ error: 'WX_USER_BLOCKED' });
  });

  it('answers 40163 after an attempt that may have spent the code with WX_RETRY_LOGIN', () => {
    const used = new WechatUpstreamError('errcode', { errcode: 40163 });
    expect(new AppAccessTokenCall(false).onFailure(used, 0)).toBeUndefined();
    expect(new AppAccessTokenCall(false).onFailure(used, 1)?.code).toBe('WX_RETRY_LOGIN');
    expect(new AppAccessTokenCall(true).onFailure(used, 0)?.code).toBe('WX_RETRY_LOGIN');
    const doubt = new AppAccessTokenCall(false);
    doubt.onFailure(new WechatUpstreamError('timeout', { maybeDelivered: true }), 0);
    expect(doubt.maybeSpent).toBe(true);
  });
});
