import { useSandboxApp } from './support/use-test-app';

/** The mobile-app door on the built-in sandbox: one persona through the mini program and the app is one user. */
describe('mobile-app login on the sandbox (e2e)', () => {
  const { http } = useSandboxApp({ apps: 'wxsbapp:sandbox-app-secret:app' });

  it('logs a persona in through the app, joins its mini-program user by unionid, and refuses a replay', async () => {
    const mini = await http()
      .post('/sandbox/wechat/codes')
      .send({ openid: 'o-alice-mini', unionid: 'u_sandbox_alice' });
    expect(mini.status).toBe(201);
    const miniLogin = await http().post('/auth/wechat/login').send({ code: mini.body.code });
    expect(miniLogin.status).toBe(200);

    const minted = await http()
      .post('/sandbox/wechat/app-codes')
      .send({ appid: 'wxsbapp', persona: 'alice' });
    expect(minted.status).toBe(201);
    expect(minted.body).toMatchObject({ code: expect.any(String), unionid: 'u_sandbox_alice' });
    const appLogin = await http()
      .post('/auth/wechat/app/login')
      .send({ appid: 'wxsbapp', code: minted.body.code });
    expect(appLogin.status).toBe(200);
    expect(appLogin.body.user).toMatchObject({ id: miniLogin.body.user.id, isNew: false });

    const replay = await http()
      .post('/auth/wechat/app/login')
      .send({ appid: 'wxsbapp', code: minted.body.code });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('WX_CODE_USED');

    const list = await http()
      .get('/users/me/identities')
      .set('Authorization', `Bearer ${appLogin.body.accessToken}`);
    expect(list.body.map((i: { kind: string; appid: string }) => [i.kind, i.appid]).sort()).toEqual([
      ['app', 'wxsbapp'],
      ['miniprogram', 'wxsandbox'],
    ]);
  });

  it('gives a persona without a unionid a user of its own, and refuses an unknown appid', async () => {
    const minted = await http()
      .post('/sandbox/wechat/app-codes')
      .send({ appid: 'wxsbapp', persona: 'carol' });
    expect(minted.body.unionid).toBeUndefined();
    const login = await http()
      .post('/auth/wechat/app/login')
      .send({ appid: 'wxsbapp', code: minted.body.code });
    expect(login.status).toBe(200);
    expect(login.body.user.isNew).toBe(true);

    const unknown = await http().post('/sandbox/wechat/app-codes').send({ appid: 'wxnothere' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('UNKNOWN_APPID');
  });
});
