import { testConfig } from '../testing/test-config';
import { appKind, wechatApp } from './wechat-apps';

describe('WECHAT_APPS kinds', () => {
  const config = testConfig({
    WECHAT_APPS: 'wxmini:s1,wxoa:s2:oa,wxweb:s3:web,wxmobile:s4:app,wxcolon:s:5,wxexplicit:s6:miniprogram',
  });

  it('reads an optional third part as the kind (default miniprogram); other colons stay in the secret', () => {
    const kinds = Object.fromEntries(
      [...config.wechat.apps.values()].map((a) => [a.appid, [a.secret, appKind(a)]]),
    );
    expect(kinds).toMatchObject({
      wxmini: ['s1', 'miniprogram'],
      wxoa: ['s2', 'oa'],
      wxweb: ['s3', 'web'],
      wxmobile: ['s4', 'app'],
      wxcolon: ['s:5', 'miniprogram'],
      wxexplicit: ['s6', 'miniprogram'],
    });
    expect(appKind(config.wechat.apps.get(config.wechat.defaultAppid)!)).toBe('miniprogram');
  });

  it('answers UNKNOWN_APPID for an appid of another kind when a kind is asked for', () => {
    expect(wechatApp(config, 'wxmobile', 'app').appid).toBe('wxmobile');
    expect(() => wechatApp(config, 'wxmobile', 'miniprogram')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_APPID' }),
    );
    expect(() => wechatApp(config, 'wxmini', 'app')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_APPID' }),
    );
    expect(() => wechatApp(config, undefined, 'app')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_APPID' }),
    );
    expect(wechatApp(config, undefined, 'miniprogram').appid).toBe(config.wechat.defaultAppid);
    // Without a kind (phone, open data and the token broker decide for themselves), any configured app.
    expect(wechatApp(config, 'wxoa').appid).toBe('wxoa');
  });

  it('keeps refusing a malformed list', () => {
    expect(() => testConfig({ WECHAT_APPS: 'wxa:s:app,wxb' })).toThrow(/WECHAT_APPS/);
  });
});
