import { WechatApi } from '../src/wechat-auth/wechat-api';
import { useSandboxApp } from './support/use-test-app';
import { bindingCookie, formOf, fragmentOf, pathOf } from './support/web-login';

const RETURN_TO = 'https://m.example.com/login/done';

/**
 * Content checks (WECHAT_CONTENT_CHECK=on) for users of the browser doors (docs/content-checks.md), on the
 * built-in sandbox: WeChat's nickname and avatar from snsapi_userinfo are not stored unchecked, and a profile
 * change is checked through the user's mini-program identity, or refused (409) without calling WeChat.
 */
describe('content checks for Official Account users (e2e, sandbox)', () => {
  const fx = useSandboxApp({
    apps: 'wxoa:oa-secret-0123:oa',
    env: {
      OAUTH_RETURN_ORIGINS: 'https://m.example.com',
      WECHAT_CONTENT_CHECK: 'on',
      WECHAT_EVENT_TOKEN: 'contentWebPushToken7',
    },
  });
  const { http } = fx;

  /** The Official Account's H5 login (snsapi_userinfo) of `persona`, through the sandbox's page: the login answer. */
  const oaLogin = async (persona: string) => {
    const start = await http()
      .get('/auth/wechat/oauth/authorize')
      .query({ appid: 'wxoa', scope: 'snsapi_userinfo', returnTo: RETURN_TO });
    expect(start.status).toBe(302);
    const { action, fields } = formOf((await http().get(pathOf(start.headers.location))).text);
    fields.set('persona', persona);
    fields.set('decision', 'allow');
    const callback = pathOf((await http().get(`${action}?${fields}`)).headers.location);
    const done = await http().get(callback).set('cookie', bindingCookie(start));
    const ticket = fragmentOf(done.headers.location).get('ticket');
    const res = await http().post('/auth/tickets/redeem').send({ ticket });
    expect(res.status).toBe(200);
    return res.body as { accessToken: string; user: Record<string, unknown> };
  };

  const checks = () => {
    const spy = jest.spyOn(fx.t.app.get(WechatApi), 'call');
    return {
      made: () =>
        spy.mock.calls
          .filter(([endpoint]) => ['msg_sec_check', 'media_check_async'].includes(endpoint.name))
          .map(([endpoint, app, input]) => ({ api: endpoint.name, appid: app.appid, input })),
    };
  };

  afterEach(() => jest.restoreAllMocks());

  it('a sign-up through snsapi_userinfo does not copy WeChat’s nickname and avatar unchecked', async () => {
    const login = await oaLogin('alice');
    expect(login.user).toMatchObject({ isNew: true, nickname: null, avatarUrl: null });
    const me = await http().get('/users/me').set('authorization', `Bearer ${login.accessToken}`);
    expect(me.body).toMatchObject({ nickname: null, avatarUrl: null, avatarStatus: 'none' });
  });

  it('a user with no mini-program identity: 409 NO_WECHAT_SESSION for a nickname or avatar, WeChat not called', async () => {
    const { accessToken } = await oaLogin('frank');
    const calls = checks();
    for (const body of [{ nickname: 'Frank' }, { avatarUrl: 'https://cdn.example.com/frank.png' }]) {
      const res = await http().patch('/users/me').set('authorization', `Bearer ${accessToken}`).send(body);
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        code: 'NO_WECHAT_SESSION',
        message: expect.stringContaining('mini program'),
      });
    }
    expect(calls.made()).toEqual([]);
    const me = await http().get('/users/me').set('authorization', `Bearer ${accessToken}`);
    expect(me.body).toMatchObject({ nickname: null, avatarUrl: null });
  });

  it('an Official Account session of a user known to the mini program is checked with that identity', async () => {
    const { accessToken, user } = await oaLogin('erin');
    const minted = await http()
      .post('/sandbox/wechat/codes')
      .send({ openid: 'o-erin-miniprogram', unionid: 'u_sandbox_erin' });
    expect(minted.status).toBe(201);
    const mp = await http().post('/auth/wechat/login').send({ code: minted.body.code });
    expect(mp.status).toBe(200);
    expect(mp.body.user.id).toBe(user.id);

    const calls = checks();
    const res = await http()
      .patch('/users/me')
      .set('authorization', `Bearer ${accessToken}`)
      .send({ nickname: 'Erin' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ nickname: 'Erin' });
    expect(calls.made()).toEqual([
      {
        api: 'msg_sec_check',
        appid: minted.body.appid,
        input: { content: 'Erin', openid: 'o-erin-miniprogram' },
      },
    ]);
  });
});
