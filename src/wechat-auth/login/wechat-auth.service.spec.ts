import { FakeClock } from '../../common/clock/fake-clock';
import { SecretBox } from '../../common/crypto/secret-box';
import { AppException } from '../../common/errors/app.exception';
import type { RequestContext } from '../../common/request-context';
import { Random } from '../../common/random/random';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import { StoreUnavailableError } from '../../common/store/store-unavailable.error';
import type { WechatAppCredentials } from '../../config/app-config';
import { flush, type Outcome, settleAll } from '../../testing/async';
import { quietNestLogger } from '../../testing/quiet-logger';
import { testConfig } from '../../testing/test-config';
import type { TokenPair } from '../../token/token-pair';
import type { AuditEventInput, AuditService } from '../../audit/audit.service';
import type { SessionService } from '../../token/sessions/session.service';
import type { User } from '../../users/user.entity';
import type { ResolvedUser, UsersService, WechatSession } from '../../users/users.service';
import { InterfaceTokenService } from '../interface-token/interface-token.service';
import { Deadline } from '../upstream/deadline';
import { WechatCallPolicy } from '../upstream/wechat-call-policy';
import type { WechatEndpoint } from '../upstream/wechat-endpoint';
import type { LogContext, WechatHttp, WechatRequest } from '../upstream/wechat-http';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';
import { WechatApi } from '../wechat-api';
import { Code2SessionCall, type Code2SessionResult } from './code2session.endpoint';
import { loginCodeHash } from './login-code';
import { LoginCodeLedger } from './login-code-ledger';
import { LinkTickets } from '../../users/link-tickets';
import { SignInService } from '../sign-in/sign-in.service';
import { WechatAuthService } from './wechat-auth.service';
import type { RiskGate } from '../risk/risk-gate';

/** WECHAT_RISK_CHECK=off: the gate is never asked (RiskGate's own spec covers it). */
const RISK_OFF = { enabled: false } as unknown as RiskGate;

const APP_ONE: WechatAppCredentials = { appid: 'wxapp_one', secret: 'secret-one' };
const APP_TWO: WechatAppCredentials = { appid: 'wxapp_two', secret: 'secret-two' };
const USER = { id: 'user-1', roles: ['user'], nickname: null, avatarUrl: null } as unknown as User;
const TOKENS: TokenPair = {
  accessToken: 'jwt',
  tokenType: 'Bearer',
  expiresIn: 900,
  refreshToken: 'refresh',
  refreshExpiresIn: 86400,
};
const SESSION: Code2SessionResult = {
  openid: 'openid-1',
  sessionKey: 'c2Vzc2lvbi1rZXktMTIzNA==',
  unionid: 'union-1',
};
const SESSION_BODY = { openid: SESSION.openid, session_key: SESSION.sessionKey, unionid: SESSION.unionid };
const START = Date.UTC(2026, 0, 1, 12, 0, 45);

type ExchangeOnce = LoginCodeLedger['exchangeOnce'];

function fakes() {
  const users = {
    resolveIdentity: jest
      .fn<Promise<ResolvedUser>, [WechatSession]>()
      .mockResolvedValue({ user: USER, isNew: true }),
  };
  const tokens = {
    start: jest.fn<Promise<TokenPair>, [User, string]>().mockResolvedValue(TOKENS),
    end: jest.fn<Promise<void>, Parameters<SessionService['end']>>().mockResolvedValue(undefined),
  };
  return { users, tokens };
}

/** The service with a fake WechatApi and a ledger that lets the exchange run, as it does for a fresh code. */
function setup(env: Record<string, string> = {}) {
  const clock = new FakeClock(START);
  const store = new MemoryKvStore(clock);
  const config = testConfig(env);
  const wechat = {
    call: jest
      .fn<
        Promise<unknown>,
        [WechatEndpoint<string, Code2SessionResult>, WechatAppCredentials, string, Deadline, RequestContext?]
      >()
      .mockResolvedValue(SESSION),
  };
  const ledger = {
    exchangeOnce: jest.fn<ReturnType<ExchangeOnce>, Parameters<ExchangeOnce>>(
      async (_appid, _code, _deadline, exchange, complete) => complete(await exchange()),
    ),
  };
  const { users, tokens } = fakes();
  const audit = { record: jest.fn<Promise<void>, [AuditEventInput]>().mockResolvedValue(undefined) };
  const service = new WechatAuthService(
    config,
    wechat as unknown as WechatApi,
    ledger as unknown as LoginCodeLedger,
    new SignInService(
      users as unknown as UsersService,
      tokens as unknown as SessionService,
      audit as unknown as AuditService,
      new LinkTickets(store, new Random()),
      RISK_OFF,
      config,
    ),
    store,
    clock,
    audit as unknown as AuditService,
  );
  return { service, wechat, ledger, users, tokens, store, clock, config, audit };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

quietNestLogger();

describe('WechatAuthService.login', () => {
  it('records login.succeeded (user, app, new or not) and login.failed with the stable reason only', async () => {
    const { service, audit, wechat } = setup();
    await service.login(undefined, 'code-1');
    expect(audit.record).toHaveBeenLastCalledWith({
      type: 'login.succeeded',
      userId: USER.id,
      appid: 'wxapp_one',
      details: { isNewUser: true },
    });
    wechat.call.mockRejectedValueOnce(new AppException('WX_CODE_INVALID'));
    await expect(service.login('wxapp_two', 'code-2')).rejects.toMatchObject({ code: 'WX_CODE_INVALID' });
    expect(audit.record).toHaveBeenLastCalledWith({
      type: 'login.failed',
      appid: 'wxapp_two',
      reason: 'WX_CODE_INVALID',
    });
    expect(JSON.stringify(audit.record.mock.calls)).not.toContain('code-2');
  });

  it('a store outage (StoreUnavailableError) is audited as login.failed SERVICE_UNAVAILABLE, like any of our refusals', async () => {
    const { service, audit, ledger } = setup();
    ledger.exchangeOnce.mockRejectedValueOnce(new StoreUnavailableError(5));
    await expect(service.login(undefined, 'code-3')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(audit.record).toHaveBeenLastCalledWith({
      type: 'login.failed',
      appid: 'wxapp_one',
      reason: 'SERVICE_UNAVAILABLE',
    });
  });

  it('a login that merged other users (late unionid) ends every merged-away user’s sessions before signing in', async () => {
    const { service, users, tokens } = setup();
    users.resolveIdentity.mockResolvedValue({
      user: USER,
      isNew: false,
      mergedUserIds: ['merged-1', 'merged-2'],
    });
    await service.login(undefined, 'code-1');
    expect(
      tokens.end.mock.calls.map(([target, reason, opts]) => [target, reason, opts?.auditUserId]),
    ).toEqual([
      [{ userId: 'merged-1', all: 'delete' }, 'users_merged', USER.id],
      [{ userId: 'merged-2', all: 'delete' }, 'users_merged', USER.id],
    ]);
    expect(tokens.end.mock.invocationCallOrder[1]).toBeLessThan(tokens.start.mock.invocationCallOrder[0]);
  });

  it('uses the default app when no appid is given, and issues the session', async () => {
    const { service, wechat, ledger, users, tokens } = setup();

    const result = await service.login(undefined, 'code-1');

    expect(ledger.exchangeOnce).toHaveBeenCalledTimes(1);
    expect(ledger.exchangeOnce).toHaveBeenCalledWith(
      APP_ONE.appid,
      'code-1',
      expect.any(Deadline),
      expect.any(Function),
      expect.any(Function),
    );
    expect(wechat.call).toHaveBeenCalledTimes(1);
    expectExchange(wechat.call, APP_ONE, 'code-1');
    expect(users.resolveIdentity).toHaveBeenCalledWith({
      kind: 'miniprogram',
      appid: APP_ONE.appid,
      ...SESSION,
    });
    expect(tokens.start).toHaveBeenCalledWith(USER, APP_ONE.appid, undefined, { isNewUser: true });
    expect(result).toEqual({ user: USER, appid: APP_ONE.appid, isNew: true, tokens: TOKENS });
  });

  it('creates one deadline per login (WECHAT_LOGIN_DEADLINE_MS) and hands the same one to the ledger and the exchange', async () => {
    const { service, wechat, ledger, clock } = setup({ WECHAT_LOGIN_DEADLINE_MS: '6000' });

    await service.login(undefined, 'code-1');

    const deadline = ledger.exchangeOnce.mock.calls[0][2];
    expect(deadline.at).toBe(clock.now() + 6000);
    expect(wechat.call.mock.calls[0][3]).toBe(deadline);
  });

  it("exchanges the code through the ledger with the named app's credentials and keys the identity on that appid", async () => {
    const { service, wechat, ledger, users, tokens } = setup();
    users.resolveIdentity.mockResolvedValue({ user: USER, isNew: false });

    const result = await service.login(APP_TWO.appid, 'code-2');

    expect(ledger.exchangeOnce.mock.calls[0].slice(0, 2)).toEqual([APP_TWO.appid, 'code-2']);
    expectExchange(wechat.call, APP_TWO, 'code-2');
    expect(users.resolveIdentity).toHaveBeenCalledWith({
      kind: 'miniprogram',
      appid: APP_TWO.appid,
      openid: SESSION.openid,
      sessionKey: SESSION.sessionKey,
      unionid: SESSION.unionid,
    });
    expect(tokens.start).toHaveBeenCalledWith(USER, APP_TWO.appid, undefined, { isNewUser: false });
    expect(result).toEqual({ user: USER, appid: APP_TWO.appid, isNew: false, tokens: TOKENS });
  });

  it('calls WeChat only from inside the exchange handed to the ledger, and completes only inside its completion', async () => {
    const { service, wechat, ledger, users, tokens } = setup();
    let exchange: (() => Promise<Code2SessionResult>) | undefined;
    let complete: ((s: Code2SessionResult) => Promise<unknown>) | undefined;
    ledger.exchangeOnce.mockImplementation((_appid, _code, _deadline, e, c) => {
      exchange = e as () => Promise<Code2SessionResult>;
      complete = c as (s: Code2SessionResult) => Promise<unknown>;
      return Promise.reject(new AppException('WX_CODE_USED'));
    });

    await expect(service.login(APP_TWO.appid, 'code-2')).rejects.toMatchObject({ code: 'WX_CODE_USED' });
    expect(wechat.call).not.toHaveBeenCalled();
    expect(users.resolveIdentity).not.toHaveBeenCalled();

    await expect(exchange!()).resolves.toBe(SESSION);
    expect(wechat.call).toHaveBeenCalledTimes(1);
    expectExchange(wechat.call, APP_TWO, 'code-2');
    await expect(complete!(SESSION)).resolves.toMatchObject({ appid: APP_TWO.appid, tokens: TOKENS });
    expect(tokens.start).toHaveBeenCalledTimes(1);
  });

  it("hands the request's context to the WeChat call (its id goes on the call's log lines)", async () => {
    const { service, wechat } = setup();
    const context = { requestId: '0b5e3f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b', clientIp: '203.0.113.7' };

    await service.login(undefined, 'code-1', context);

    expect(wechat.call.mock.calls[0][4]).toBe(context);
  });

  it('passes no unionid when WeChat gave none', async () => {
    const { service, wechat, users } = setup();
    wechat.call.mockResolvedValue({ openid: 'openid-1', sessionKey: 'k' });

    await service.login(undefined, 'code-1');

    expect(users.resolveIdentity.mock.calls[0][0]).toEqual({
      kind: 'miniprogram',
      appid: APP_ONE.appid,
      openid: 'openid-1',
      sessionKey: 'k',
    });
  });

  it.each(['wx_unknown', 'WXAPP_ONE', '', 'toString', '__proto__'])(
    'unknown appid %p → UNKNOWN_APPID without touching the ledger or WeChat',
    async (appid) => {
      const { service, wechat, ledger, users } = setup();

      const error = await rejectionOf(service.login(appid, 'code-1'));

      expect(error).toBeInstanceOf(AppException);
      expect((error as AppException).code).toBe('UNKNOWN_APPID');
      expect((error as AppException).getStatus()).toBe(400);
      expect(ledger.exchangeOnce).not.toHaveBeenCalled();
      expect(wechat.call).not.toHaveBeenCalled();
      expect(users.resolveIdentity).not.toHaveBeenCalled();
    },
  );

  it("propagates the ledger's refusal of a replayed code without calling WeChat or resolving a user", async () => {
    const { service, wechat, ledger, users } = setup();
    const used = new AppException('WX_CODE_USED');
    ledger.exchangeOnce.mockRejectedValue(used);

    await expect(service.login(undefined, 'code-1')).rejects.toBe(used);
    expect(wechat.call).not.toHaveBeenCalled();
    expect(users.resolveIdentity).not.toHaveBeenCalled();
  });

  it.each([
    ...(['WX_CODE_INVALID', 'WX_UNAVAILABLE', 'WX_RATE_LIMITED', 'WX_RETRY_LOGIN'] as const).map(
      (code) => [code, () => new AppException(code)] as const,
    ),
    ['an unexpected error (a bug)', () => new TypeError('cannot read properties of undefined')] as const,
  ])(
    'propagates %s from the WeChat client untouched, no user resolved, no session issued',
    async (_name, makeFailure) => {
      const { service, wechat, users, tokens } = setup();
      const failure = makeFailure();
      wechat.call.mockRejectedValue(failure);

      await expect(service.login(undefined, 'code-1')).rejects.toBe(failure);
      expect(wechat.call).toHaveBeenCalledTimes(1);
      expect(users.resolveIdentity).not.toHaveBeenCalled();
      expect(tokens.start).not.toHaveBeenCalled();
    },
  );

  it('lets errors from resolving the user or issuing the session through untouched', async () => {
    const { service, users, tokens } = setup();
    const disabled = new AppException('USER_DISABLED');
    users.resolveIdentity.mockRejectedValueOnce(disabled);
    await expect(service.login(undefined, 'code-1')).rejects.toBe(disabled);

    const down = new AppException('DATABASE_UNAVAILABLE');
    tokens.start.mockRejectedValueOnce(down);
    await expect(service.login(undefined, 'code-2')).rejects.toBe(down);
  });

  it('remembers a login that ended in doubt about the code: a later "code used" for that code means "get a new code"', async () => {
    const { service, wechat, store } = setup();
    wechat.call.mockImplementationOnce((call) => {
      (call as Code2SessionCall).maybeSpent = true;
      return Promise.reject(new AppException('WX_UNAVAILABLE'));
    });

    await expect(service.login(undefined, 'code-1')).rejects.toMatchObject({ code: 'WX_UNAVAILABLE' });
    expect(await store.get(`wx:unsure:${loginCodeHash(APP_ONE.appid, 'code-1')}`)).toBe('1');

    // WeChat (40163) says the code was used: by our own earlier attempt, maybe — not a 401.
    wechat.call.mockRejectedValueOnce(new AppException('WX_CODE_USED'));
    await expect(service.login(undefined, 'code-1')).rejects.toMatchObject({
      code: 'WX_RETRY_LOGIN',
      extras: { retryAfter: 1 },
    });
    // Another code without a doubt marker: WeChat's answer stands.
    wechat.call.mockRejectedValueOnce(new AppException('WX_CODE_USED'));
    await expect(service.login(undefined, 'code-2')).rejects.toMatchObject({ code: 'WX_CODE_USED' });
  });

  it('reads the doubt marker only when WeChat calls the code used (a successful login never does)', async () => {
    const { service, store } = setup();
    const get = jest.spyOn(store, 'get');
    await service.login(undefined, 'code-1');
    expect(get.mock.calls.map(([key]) => key).filter((k) => k.startsWith('wx:unsure:'))).toEqual([]);
  });

  it('a failure that left no doubt leaves no marker', async () => {
    const { service, wechat, store } = setup();
    wechat.call.mockRejectedValueOnce(new AppException('WX_UNAVAILABLE'));

    await expect(service.login(undefined, 'code-1')).rejects.toMatchObject({ code: 'WX_UNAVAILABLE' });
    expect(await store.get(`wx:unsure:${loginCodeHash(APP_ONE.appid, 'code-1')}`)).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The real ledger, call policy and WechatApi over a fake WeChat (WechatHttp) in fake time; several app instances
// share one store, as behind a load balancer with Redis.

type Body = Record<string, unknown>;
/** What the fake WeChat does with one jscode2session request: answer, fail, or take its time first. */
type Behaviour = Body | WechatUpstreamError | ((timeoutMs: number) => Promise<Body>);

function cluster(env: Record<string, string> = {}) {
  const clock = new FakeClock(START);
  const store = new MemoryKvStore(clock);
  const config = testConfig(env);
  const box = new SecretBox(Buffer.alloc(32, 3));
  /** Every request that reached the fake WeChat, with the instance, when, and the timeout it was given. */
  const attempts: { instance: string; code: string; at: number; timeoutMs: number }[] = [];
  const instance = (name: string) => {
    const script: Behaviour[] = [];
    const send = jest.fn(
      async (request: WechatRequest, _log: LogContext, timeoutMs: number): Promise<Body> => {
        attempts.push({ instance: name, code: String(request.query?.js_code), at: clock.now(), timeoutMs });
        const behaviour = script.shift();
        if (behaviour === undefined) throw new Error(`unexpected WeChat call from ${name}`);
        if (behaviour instanceof WechatUpstreamError) throw behaviour;
        if (typeof behaviour === 'function') return behaviour(timeoutMs);
        return behaviour;
      },
    );
    const random = new Random();
    jest.spyOn(random, 'fraction').mockReturnValue(0.5);
    const policy = new WechatCallPolicy({ send } as unknown as WechatHttp, config, clock, random, store);
    const api = new WechatApi(policy, new InterfaceTokenService(policy, store, clock, random, config));
    const { users, tokens } = fakes();
    const audit = { record: () => Promise.resolve() } as unknown as AuditService;
    const service = new WechatAuthService(
      config,
      api,
      new LoginCodeLedger(store, clock, box),
      new SignInService(
        users as unknown as UsersService,
        tokens as unknown as SessionService,
        audit,
        new LinkTickets(store, new Random()),
        RISK_OFF,
        config,
      ),
      store,
      clock,
      audit,
    );
    /** Script this instance's next WeChat answers. */
    const wechat = (...behaviours: Behaviour[]) => script.push(...behaviours);
    /** Logs in on this instance with `code`, settled: the error code the login was refused with. */
    const refusal = async (code: string) =>
      codeOf((await settleAll([service.login(undefined, code)], clock))[0]);
    return { service, send, users, tokens, wechat, policy, refusal };
  };
  /** WeChat does not answer within the time it was given: the attempt times out (maybe delivered). */
  const hangs =
    (): Behaviour =>
    async (timeoutMs): Promise<Body> => {
      await clock.sleep(timeoutMs);
      throw new WechatUpstreamError('timeout', { maybeDelivered: true });
    };
  return { clock, store, config, attempts, instance, hangs };
}

/** A login's promise that also notes the fake time at which it settled. */
/** The WeChat client was asked for one jscode2session exchange of `code` with `app`'s credentials. */
function expectExchange(call: jest.Mock, app: WechatAppCredentials, code: string): void {
  expect(call).toHaveBeenCalledWith(expect.any(Code2SessionCall), app, code, expect.any(Deadline), undefined);
}

/** A logs in with code-1; 100 ms later B, on another instance, with the same code; both settled. */
async function aThenB(
  clock: FakeClock,
  a: ReturnType<ReturnType<typeof cluster>['instance']>,
  b: ReturnType<ReturnType<typeof cluster>['instance']>,
) {
  const loginA = stamped(a.service.login(undefined, 'code-1'), clock);
  await flush();
  clock.advance(100);
  const bStart = clock.now();
  const loginB = stamped(b.service.login(undefined, 'code-1'), clock);
  const [outcomeA, outcomeB] = await settleAll([loginA.promise, loginB.promise], clock);
  return { loginA, loginB, bStart, outcomeA, outcomeB };
}

function stamped<T>(promise: Promise<T>, clock: FakeClock): { promise: Promise<T>; at: () => number } {
  let at = Number.NaN;
  const settledPromise = promise.finally(() => (at = clock.now()));
  return { promise: settledPromise, at: () => at };
}

const codeOf = (o: Outcome<unknown>) => {
  expect(o.state).toBe('rejected');
  const error = (o as { error: unknown }).error;
  expect(error).toBeInstanceOf(AppException);
  return (error as AppException).code;
};

describe('WechatAuthService over the real ledger and call policy: the doubt about a code', () => {
  it('a login that ended in doubt makes a later 40163 for that code WX_RETRY_LOGIN, not 401', async () => {
    const { instance } = cluster({ WECHAT_MAX_RETRIES: '0' });
    const a = instance('A');
    const used = () => new WechatUpstreamError('errcode', { errcode: 40163 });
    a.wechat(new WechatUpstreamError('timeout', { maybeDelivered: true }), used(), used());

    expect(await a.refusal('code-1')).toBe('WX_UNAVAILABLE');
    // The client retries with the same code; WeChat had spent it on the timed-out call.
    expect(await a.refusal('code-1')).toBe('WX_RETRY_LOGIN');
    // Another code with no doubt on it keeps the plain meaning of 40163.
    expect(await a.refusal('code-2')).toBe('WX_CODE_USED');
    expect(a.send).toHaveBeenCalledTimes(3);
  });

  it('the doubt is shared with other instances through the store', async () => {
    const { instance } = cluster({ WECHAT_MAX_RETRIES: '0' });
    const a = instance('A');
    const b = instance('B');
    a.wechat(new WechatUpstreamError('network', { maybeDelivered: true }));
    b.wechat(new WechatUpstreamError('errcode', { errcode: 40163 }));

    expect(await a.refusal('code-1')).toBe('WX_UNAVAILABLE');
    expect(await b.refusal('code-1')).toBe('WX_RETRY_LOGIN');
  });

  it('the doubt is remembered also when the login ends on the breaker, not on the failed call itself', async () => {
    const { clock, instance } = cluster({
      WECHAT_BREAKER_THRESHOLD: '1',
      WECHAT_BREAKER_COOLDOWN_MS: '1000',
    });
    const a = instance('A');
    a.wechat(
      new WechatUpstreamError('timeout', { maybeDelivered: true }),
      new WechatUpstreamError('errcode', { errcode: 40163 }),
    );

    // The timeout opens the breaker; the planned retry is refused by it.
    expect(await a.refusal('code-1')).toBe('WX_UNAVAILABLE');
    expect(a.send).toHaveBeenCalledTimes(1);
    clock.advance(1000);
    expect(await a.refusal('code-1')).toBe('WX_RETRY_LOGIN');
  });

  it('a failure before the request left (connection refused) leaves no doubt about the code', async () => {
    const { instance } = cluster({ WECHAT_MAX_RETRIES: '0' });
    const a = instance('A');
    a.wechat(
      new WechatUpstreamError('network', { maybeDelivered: false }),
      new WechatUpstreamError('errcode', { errcode: 40163 }),
    );

    expect(await a.refusal('code-1')).toBe('WX_UNAVAILABLE');
    expect(await a.refusal('code-1')).toBe('WX_CODE_USED');
  });

  it("a login whose database step failed completes on retry with WeChat's kept answer, without calling WeChat", async () => {
    const { clock, instance } = cluster();
    const a = instance('A');
    a.wechat(SESSION_BODY);
    const down = new AppException('DATABASE_UNAVAILABLE');
    a.users.resolveIdentity.mockRejectedValueOnce(down);

    const [first] = await settleAll([a.service.login(undefined, 'code-1')], clock);
    expect(first).toEqual({ state: 'rejected', error: down });
    const [again] = await settleAll([a.service.login(undefined, 'code-1')], clock);

    expect(again).toEqual({
      state: 'fulfilled',
      value: { user: USER, appid: APP_ONE.appid, isNew: true, tokens: TOKENS },
    });
    expect(a.send).toHaveBeenCalledTimes(1);
    expect(a.users.resolveIdentity).toHaveBeenLastCalledWith({
      kind: 'miniprogram',
      appid: APP_ONE.appid,
      ...SESSION,
    });
  });
});

describe('WechatAuthService: one deadline, carried down', () => {
  // Instance A holds the claim on a code while WeChat does not answer it; B got the same code (a client retry
  // through another instance) and waits. When A gives up, B takes over — with what is left of B's own
  // deadline, not a fresh one: B's login answers within WECHAT_LOGIN_DEADLINE_MS of its start. (Before the
  // deadline was carried down, B's exchange started a new 8 s budget and the answer came after ~15.8 s.)
  const ENV = { WECHAT_LOGIN_DEADLINE_MS: '8000', WECHAT_TIMEOUT_MS: '7000', WECHAT_MAX_RETRIES: '0' };

  it("B's exchange after A's transient failure gets only the rest of B's deadline; B answers by its deadline", async () => {
    const { clock, instance, attempts, hangs } = cluster(ENV);
    const a = instance('A');
    const b = instance('B');
    a.wechat(hangs());
    b.wechat(hangs());

    const { loginA, loginB, bStart, outcomeA, outcomeB } = await aThenB(clock, a, b);

    // A: one 7 s attempt, then a transient failure that released the code.
    expect(codeOf(outcomeA)).toBe('WX_UNAVAILABLE');
    expect(loginA.at() - START).toBe(7000);
    // B took over at its next poll, with ~1 s left of its 8 s — and was given no more than that.
    // B's deadline is 100 + 8000 = 8100 ms; its poll after A's release comes at 7050 ms.
    expect(attempts.map((x) => [x.instance, x.at - START, x.timeoutMs])).toEqual([
      ['A', 0, 7000],
      ['B', 7050, 1050],
    ]);
    expect(codeOf(outcomeB)).toBe('WX_UNAVAILABLE');
    expect(loginB.at() - bStart).toBeLessThanOrEqual(8000);
  });

  it('B, taking over with time left, completes the login within its deadline', async () => {
    const { clock, instance, attempts, hangs } = cluster(ENV);
    const a = instance('A');
    const b = instance('B');
    a.wechat(hangs());
    b.wechat(async () => {
      await clock.sleep(300);
      return SESSION_BODY;
    });

    const { loginB, bStart, outcomeA, outcomeB } = await aThenB(clock, a, b);

    expect(codeOf(outcomeA)).toBe('WX_UNAVAILABLE');
    expect(outcomeB).toEqual({
      state: 'fulfilled',
      value: { user: USER, appid: APP_ONE.appid, isNew: true, tokens: TOKENS },
    });
    expect(loginB.at() - bStart).toBeLessThanOrEqual(8000);
    expect(attempts[1]).toMatchObject({ instance: 'B', timeoutMs: bStart + 8000 - attempts[1].at });
    expect(attempts[1].timeoutMs).toBeLessThanOrEqual(1100);
    expect(b.tokens.start).toHaveBeenCalledTimes(1);
    expect(a.tokens.start).not.toHaveBeenCalled();
  });

  it('with retries allowed, B still answers by its own deadline', async () => {
    const { clock, instance, attempts, hangs } = cluster({
      WECHAT_LOGIN_DEADLINE_MS: '8000',
      WECHAT_TIMEOUT_MS: '3000',
    });
    const a = instance('A');
    const b = instance('B');
    a.wechat(hangs(), hangs(), hangs());
    b.wechat(hangs(), hangs(), hangs());

    const { loginA, loginB, bStart, outcomeA, outcomeB } = await aThenB(clock, a, b);

    expect(codeOf(outcomeA)).toBe('WX_UNAVAILABLE');
    expect(loginA.at() - START).toBeLessThanOrEqual(8000);
    expect(codeOf(outcomeB)).toBe('WX_UNAVAILABLE');
    expect(loginB.at() - bStart).toBeLessThanOrEqual(8000);
    for (const x of attempts.filter((y) => y.instance === 'B')) {
      expect(x.at + x.timeoutMs).toBeLessThanOrEqual(bStart + 8000);
    }
  });
});
