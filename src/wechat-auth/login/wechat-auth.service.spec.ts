import { AppException } from '../common/errors/app.exception';
import type { AppConfig, WechatAppCredentials } from '../config/app-config';
import type { User } from '../users/user.entity';
import type { ResolvedUser, WechatSession } from '../users/users.service';
import type { LoginCodeReplayGuard } from './login-code-replay.guard';
import type { ResilientWechatClient } from './resilient-wechat.client';
import type { Code2SessionResult } from './wechat-api.client';
import { WechatAuthService } from './wechat-auth.service';

const APP_ONE: WechatAppCredentials = { appid: 'wxapp_one', secret: 'secret-one' };
const APP_TWO: WechatAppCredentials = { appid: 'wxapp_two', secret: 'secret-two' };
const USER = { id: 'user-1', nickname: null, avatarUrl: null } as unknown as User;
const SESSION: Code2SessionResult = {
  openid: 'openid-1',
  sessionKey: 'c2Vzc2lvbi1rZXktMTIzNA==',
  unionid: 'union-1',
};

function setup() {
  const config = {
    wechat: {
      defaultAppid: APP_ONE.appid,
      apps: new Map([
        [APP_ONE.appid, APP_ONE],
        [APP_TWO.appid, APP_TWO],
      ]),
    },
  } as unknown as AppConfig;
  const wechat = {
    code2Session: jest
      .fn<Promise<Code2SessionResult>, [WechatAppCredentials, string]>()
      .mockResolvedValue(SESSION),
  };
  // By default the guard lets the exchange run, as it does for a fresh code.
  const replayGuard = {
    exchangeOnce: jest
      .fn<Promise<unknown>, [string, string, () => Promise<unknown>]>()
      .mockImplementation((_appid, _code, exchange) => exchange()),
  };
  const users = {
    resolveIdentity: jest
      .fn<Promise<ResolvedUser>, [WechatSession]>()
      .mockResolvedValue({ user: USER, isNew: true }),
  };
  const service = new WechatAuthService(
    config,
    wechat as unknown as ResilientWechatClient,
    replayGuard as unknown as LoginCodeReplayGuard,
    users as never,
  );
  return { service, wechat, replayGuard, users };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('WechatAuthService.login', () => {
  it('uses the default app when no appid is given', async () => {
    const { service, wechat, replayGuard, users } = setup();

    const result = await service.login(undefined, 'code-1');

    expect(replayGuard.exchangeOnce).toHaveBeenCalledTimes(1);
    expect(replayGuard.exchangeOnce).toHaveBeenCalledWith(APP_ONE.appid, 'code-1', expect.any(Function));
    expect(wechat.code2Session).toHaveBeenCalledTimes(1);
    expect(wechat.code2Session).toHaveBeenCalledWith(APP_ONE, 'code-1');
    expect(users.resolveIdentity).toHaveBeenCalledWith({ appid: APP_ONE.appid, ...SESSION });
    expect(result).toEqual({ user: USER, appid: APP_ONE.appid, isNew: true });
  });

  it("exchanges the code through the guard with the named app's credentials and keys the identity on that appid", async () => {
    const { service, wechat, replayGuard, users } = setup();
    users.resolveIdentity.mockResolvedValue({ user: USER, isNew: false });

    const result = await service.login(APP_TWO.appid, 'code-2');

    expect(replayGuard.exchangeOnce).toHaveBeenCalledWith(APP_TWO.appid, 'code-2', expect.any(Function));
    expect(wechat.code2Session).toHaveBeenCalledWith(APP_TWO, 'code-2');
    expect(users.resolveIdentity).toHaveBeenCalledWith({
      appid: APP_TWO.appid,
      openid: SESSION.openid,
      sessionKey: SESSION.sessionKey,
      unionid: SESSION.unionid,
    });
    expect(result).toEqual({ user: USER, appid: APP_TWO.appid, isNew: false });
  });

  it('calls WeChat only from inside the exchange handed to the guard', async () => {
    const { service, wechat, replayGuard } = setup();
    let exchange: (() => Promise<unknown>) | undefined;
    replayGuard.exchangeOnce.mockImplementation((_appid, _code, fn) => {
      exchange = fn;
      return Promise.resolve(SESSION);
    });

    await service.login(APP_TWO.appid, 'code-2');
    expect(wechat.code2Session).not.toHaveBeenCalled();

    await expect(exchange!()).resolves.toBe(SESSION);
    expect(wechat.code2Session).toHaveBeenCalledTimes(1);
    expect(wechat.code2Session).toHaveBeenCalledWith(APP_TWO, 'code-2');
  });

  it('passes no unionid when WeChat gave none', async () => {
    const { service, wechat, users } = setup();
    wechat.code2Session.mockResolvedValue({ openid: 'openid-1', sessionKey: 'k' });

    await service.login(undefined, 'code-1');

    expect(users.resolveIdentity.mock.calls[0][0]).toEqual({
      appid: APP_ONE.appid,
      openid: 'openid-1',
      sessionKey: 'k',
    });
  });

  it.each(['wx_unknown', 'WXAPP_ONE', '', 'toString', '__proto__'])(
    'unknown appid %p → UNKNOWN_APPID without touching the guard or WeChat',
    async (appid) => {
      const { service, wechat, replayGuard, users } = setup();

      const error = await rejectionOf(service.login(appid, 'code-1'));

      expect(error).toBeInstanceOf(AppException);
      expect((error as AppException).code).toBe('UNKNOWN_APPID');
      expect((error as AppException).getStatus()).toBe(400);
      expect(replayGuard.exchangeOnce).not.toHaveBeenCalled();
      expect(wechat.code2Session).not.toHaveBeenCalled();
      expect(users.resolveIdentity).not.toHaveBeenCalled();
    },
  );

  it("propagates the guard's refusal of a replayed code without calling WeChat or resolving a user", async () => {
    const { service, wechat, replayGuard, users } = setup();
    const used = new AppException('WX_CODE_USED');
    replayGuard.exchangeOnce.mockRejectedValue(used);

    await expect(service.login(undefined, 'code-1')).rejects.toBe(used);
    expect(wechat.code2Session).not.toHaveBeenCalled();
    expect(users.resolveIdentity).not.toHaveBeenCalled();
  });

  it.each(['WX_CODE_INVALID', 'WX_UNAVAILABLE', 'WX_RATE_LIMITED', 'WX_RETRY_LOGIN'] as const)(
    'propagates %s from the resilient client untouched, no user resolved',
    async (code) => {
      const { service, wechat, users } = setup();
      const failure = new AppException(code);
      wechat.code2Session.mockRejectedValue(failure);

      await expect(service.login(undefined, 'code-1')).rejects.toBe(failure);
      expect(wechat.code2Session).toHaveBeenCalledTimes(1);
      expect(users.resolveIdentity).not.toHaveBeenCalled();
    },
  );

  it('lets unexpected errors from the client through untouched', async () => {
    const { service, wechat, users } = setup();
    const bug = new TypeError('cannot read properties of undefined');
    wechat.code2Session.mockRejectedValue(bug);

    await expect(service.login(undefined, 'code-1')).rejects.toBe(bug);
    expect(users.resolveIdentity).not.toHaveBeenCalled();
  });

  it('lets errors from resolving the user through untouched', async () => {
    const { service, users } = setup();
    const disabled = new AppException('USER_DISABLED');
    users.resolveIdentity.mockRejectedValue(disabled);

    await expect(service.login(undefined, 'code-1')).rejects.toBe(disabled);
  });
});

describe('WechatAuthService.resolveApp', () => {
  it('returns the credentials of the named or default app', () => {
    const { service } = setup();

    expect(service.resolveApp(APP_TWO.appid)).toBe(APP_TWO);
    expect(service.resolveApp(undefined)).toBe(APP_ONE);
  });

  it('does not fall back to the default app for an empty appid', () => {
    const { service } = setup();

    expect(() => service.resolveApp('')).toThrow(expect.objectContaining({ code: 'UNKNOWN_APPID' }));
  });
});
