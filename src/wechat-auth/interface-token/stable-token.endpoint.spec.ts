import { WechatUpstreamError } from '../upstream/wechat-upstream.error';
import { StableTokenEndpoint } from './stable-token.endpoint';

const APP = { appid: 'wxapp_one', secret: 'secret-one' };
const TOKEN = `ACCESS_${'x'.repeat(150)}`;

function parseError(body: Record<string, unknown>): unknown {
  try {
    new StableTokenEndpoint().parse(body);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('StableTokenEndpoint', () => {
  const endpoint = new StableTokenEndpoint();

  it('POSTs /cgi-bin/stable_token in normal mode, needing no token itself', () => {
    expect(endpoint.usesAccessToken).toBe(false);
    expect(endpoint.request(APP, { forceRefresh: false })).toEqual({
      method: 'POST',
      path: '/cgi-bin/stable_token',
      json: { grant_type: 'client_credential', appid: APP.appid, secret: APP.secret },
    });
    expect(endpoint.logContext({ forceRefresh: false })).toEqual({});
  });

  it('asks for force_refresh only when told to, and says so in logs', () => {
    expect(endpoint.request(APP, { forceRefresh: true }).json).toMatchObject({ force_refresh: true });
    expect(endpoint.logContext({ forceRefresh: true })).toEqual({ forceRefresh: 'true' });
  });

  it('reads access_token and expires_in, up to 512 characters of token', () => {
    expect(endpoint.parse({ access_token: TOKEN, expires_in: 7200 })).toEqual({
      accessToken: TOKEN,
      expiresIn: 7200,
    });
    const long = 'a'.repeat(512);
    expect(endpoint.parse({ access_token: long, expires_in: 1 }).accessToken).toBe(long);
  });

  it.each<[string, Record<string, unknown>]>([
    ['no token', { expires_in: 7200 }],
    ['a token too short', { access_token: 'short', expires_in: 7200 }],
    ['a token over 512 characters', { access_token: 'a'.repeat(513), expires_in: 7200 }],
    ['a token with spaces', { access_token: 'ACCESS TOKEN 0123456789', expires_in: 7200 }],
    ['a token that is not a string', { access_token: 1234567890123456, expires_in: 7200 }],
    ['no expires_in', { access_token: TOKEN }],
    ['expires_in as a string', { access_token: TOKEN, expires_in: '7200' }],
    ['expires_in 0', { access_token: TOKEN, expires_in: 0 }],
    ['a fractional expires_in', { access_token: TOKEN, expires_in: 7199.5 }],
    ['an expires_in over a day', { access_token: TOKEN, expires_in: 86_401 }],
  ])('%s → unparsable', (_label, body) => {
    const error = parseError(body);

    expect(error).toBeInstanceOf(WechatUpstreamError);
    expect((error as WechatUpstreamError).failure).toBe('unparsable');
  });
});
