import { WechatUpstreamError } from '../upstream/wechat-upstream.error';
import { Code2SessionCall, codeTag } from './code2session.endpoint';
import { thrownBy } from '../../testing/thrown';

const APP = { appid: 'wxapp_one', secret: 'secret-one' };
const SESSION_KEY = 'c2Vzc2lvbktleURvTm90TG9n';

describe('Code2SessionCall', () => {
  const call = new Code2SessionCall(false);

  it('GETs /sns/jscode2session with appid, secret, js_code and grant_type, without an access token', () => {
    expect(call.name).toBe('jscode2session');
    expect(call.usesAccessToken).toBe(false);
    expect(call.request(APP, 'code-1')).toEqual({
      method: 'GET',
      path: '/sns/jscode2session',
      query: { appid: APP.appid, secret: APP.secret, js_code: 'code-1', grant_type: 'authorization_code' },
    });
  });

  it('tags the code in logs with a short hash, never the code', () => {
    expect(call.logContext('LOGINCODE-1')).toEqual({ code: codeTag('LOGINCODE-1') });
    expect(codeTag('LOGINCODE-1')).toMatch(/^[0-9a-f]{12}$/);
    expect(codeTag('LOGINCODE-1')).not.toBe(codeTag('LOGINCODE-2'));
  });

  describe('parse', () => {
    it('returns openid, sessionKey and unionid', () => {
      expect(call.parse({ openid: 'o1', session_key: SESSION_KEY, unionid: 'u1' })).toEqual({
        openid: 'o1',
        sessionKey: SESSION_KEY,
        unionid: 'u1',
      });
    });

    it('has no unionid key when WeChat sends none (app not bound to Open Platform)', () => {
      const result = call.parse({ openid: 'o1', session_key: SESSION_KEY });

      expect(result).toEqual({ openid: 'o1', sessionKey: SESSION_KEY });
      expect(result).not.toHaveProperty('unionid');
    });

    it('drops an empty unionid', () => {
      expect(call.parse({ openid: 'o1', session_key: SESSION_KEY, unionid: '' })).not.toHaveProperty(
        'unionid',
      );
    });

    it('ignores errcode 0 and other fields', () => {
      expect(call.parse({ errcode: 0, errmsg: 'ok', openid: 'o1', session_key: SESSION_KEY })).toEqual({
        openid: 'o1',
        sessionKey: SESSION_KEY,
      });
    });

    it.each<[string, Record<string, unknown>]>([
      ['openid missing', { session_key: SESSION_KEY }],
      ['session_key missing', { openid: 'o1' }],
      ['both missing', {}],
      ['openid empty', { openid: '', session_key: SESSION_KEY }],
      ['session_key empty', { openid: 'o1', session_key: '' }],
      ['openid not a string', { openid: 123, session_key: SESSION_KEY }],
      ['session_key not a string', { openid: 'o1', session_key: { k: 1 } }],
      // Too long for the columns, or not the shape WeChat uses: an upstream fault, never a database 500.
      ['openid over 128 chars', { openid: 'o'.repeat(129), session_key: SESSION_KEY }],
      ['openid with odd characters', { openid: "o1'; DROP", session_key: SESSION_KEY }],
      ['unionid over 128 chars', { openid: 'o1', session_key: SESSION_KEY, unionid: 'u'.repeat(300) }],
      ['unionid not a string', { openid: 'o1', session_key: SESSION_KEY, unionid: 42 }],
      ['session_key over 64 chars', { openid: 'o1', session_key: 'A'.repeat(400) }],
      ['session_key not base64', { openid: 'o1', session_key: 'not base64 at all!' }],
    ])('%s → unparsable', (_label, body) => {
      const error = thrownBy(() => call.parse(body));
      expect(error).toBeInstanceOf(WechatUpstreamError);
      expect((error as WechatUpstreamError).failure).toBe('unparsable');
    });
  });

  describe('onFailure (the doubt rules)', () => {
    const used = new WechatUpstreamError('errcode', { errcode: 40163 });
    const delivered = new WechatUpstreamError('timeout', { maybeDelivered: true });
    const refused = new WechatUpstreamError('network', { maybeDelivered: false });

    it('40163 on the first attempt of a login without doubt: no override (plain WX_CODE_USED)', () => {
      const fresh = new Code2SessionCall(false);

      expect(fresh.onFailure(used, 0)).toBeUndefined();
      expect(fresh.maybeSpent).toBe(false);
    });

    it('40163 on a retry → WX_RETRY_LOGIN (an earlier attempt may have spent the code)', () => {
      const e = new Code2SessionCall(false).onFailure(used, 1);

      expect(e?.code).toBe('WX_RETRY_LOGIN');
      expect(e?.getStatus()).toBe(503);
      expect(e?.extras).toMatchObject({ retryAfter: 1, cause: used });
    });

    it('40163 on the first attempt after a login that ended in doubt → WX_RETRY_LOGIN', () => {
      expect(new Code2SessionCall(true).onFailure(used, 0)?.code).toBe('WX_RETRY_LOGIN');
    });

    it('a failure that may have been delivered puts the code in doubt; one that never left does not', () => {
      const a = new Code2SessionCall(false);
      a.onFailure(refused, 0);
      expect(a.maybeSpent).toBe(false);
      a.onFailure(delivered, 1);
      expect(a.maybeSpent).toBe(true);
      expect(new Code2SessionCall(true).maybeSpent).toBe(true);
    });

    it('other errcodes are left to the errcode table', () => {
      expect(
        new Code2SessionCall(true).onFailure(new WechatUpstreamError('errcode', { errcode: 40029 }), 1),
      ).toBe(undefined);
    });
  });
});
