import { FakeClock } from '../common/clock/fake-clock';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { MemoryKvStore } from '../common/store/memory-kv-store';
import type { WechatAppCredentials } from '../config/app-config';
import { settle } from '../testing/async';
import { quietNestLogger } from '../testing/quiet-logger';
import { testConfig } from '../testing/test-config';
import { InterfaceTokenService } from './interface-token/interface-token.service';
import { Code2SessionCall } from './login/code2session.endpoint';
import { Deadline } from './upstream/deadline';
import { WechatCallPolicy } from './upstream/wechat-call-policy';
import type { ErrcodeMeaning, WechatEndpoint } from './upstream/wechat-endpoint';
import type { LogContext, WechatHttp, WechatRequest } from './upstream/wechat-http';
import { WechatUpstreamError } from './upstream/wechat-upstream.error';
import { WechatApi } from './wechat-api';

const START = Date.UTC(2026, 0, 1, 12, 0, 45);
const tokenN = (n: number) => `ACCESS_TOKEN_${String(n).padStart(4, '0')}_abcdefghijklmnop`;
type Body = Record<string, unknown>;

/** An endpoint that needs the interface token, like getuserphonenumber. */
class EchoEndpoint implements WechatEndpoint<string, string> {
  readonly name = 'echo';
  readonly errcodes: Readonly<Record<number, ErrcodeMeaning<string>>> = {};

  constructor(readonly usesAccessToken = true) {}

  request(_app: WechatAppCredentials, input: string, accessToken: string | undefined): WechatRequest {
    return {
      method: 'POST',
      path: '/wxa/echo',
      ...(accessToken ? { query: { access_token: accessToken } } : {}),
      json: { input },
    };
  }

  logContext(): LogContext {
    return {};
  }

  parse(body: Body): string {
    if (typeof body.echo !== 'string') throw new WechatUpstreamError('unparsable');
    return body.echo;
  }
}

const tokenRejected = () => new WechatUpstreamError('errcode', { errcode: 40001 });

function setup() {
  const clock = new FakeClock(START);
  const store = new MemoryKvStore(clock);
  const config = testConfig();
  const app = config.wechat.apps.get('wxapp_one')!;
  /** WeChat's token: the same for every caller until renewed. */
  const wechat = { current: 1 };
  const echoAnswers: (Body | Error)[] = [];
  const tokenCalls: WechatRequest[] = [];
  const echoCalls: { token?: string }[] = [];
  const send = jest.fn((request: WechatRequest, _log: LogContext, _timeoutMs: number): Promise<Body> => {
    if (request.path === '/cgi-bin/stable_token') {
      tokenCalls.push(request);
      if (request.json?.force_refresh === true) wechat.current++;
      return Promise.resolve({ access_token: tokenN(wechat.current), expires_in: 7200 });
    }
    echoCalls.push({ token: request.query?.access_token });
    const answer = echoAnswers.shift();
    if (answer === undefined) return Promise.reject(new Error('unexpected call'));
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  });
  const random = new Random();
  jest.spyOn(random, 'fraction').mockReturnValue(0.5);
  const policy = new WechatCallPolicy({ send } as unknown as WechatHttp, config, clock, random, store);
  const tokens = new InterfaceTokenService(policy, store, clock, random, config);
  const api = new WechatApi(policy, tokens);
  const call = <O>(endpoint: WechatEndpoint<string, O>, input = 'hi') =>
    api.call(endpoint, app, input, Deadline.after(clock, 8000));
  return { clock, store, app, wechat, send, policy, tokens, api, call, echoAnswers, tokenCalls, echoCalls };
}

quietNestLogger();

describe('WechatApi.call', () => {
  it('fetches the interface token once and calls the endpoint with it', async () => {
    const { call, clock, echoAnswers, echoCalls, tokenCalls } = setup();
    echoAnswers.push({ echo: 'one' }, { echo: 'two' });

    expect(await settle(call(new EchoEndpoint()), clock)).toEqual({ state: 'fulfilled', value: 'one' });
    expect(await settle(call(new EchoEndpoint()), clock)).toEqual({ state: 'fulfilled', value: 'two' });

    expect(tokenCalls).toHaveLength(1);
    expect(echoCalls).toEqual([{ token: tokenN(1) }, { token: tokenN(1) }]);
  });

  it('token rejected once → the token is replaced and the call retried once, with success', async () => {
    const { call, clock, wechat, echoAnswers, echoCalls, tokens, app } = setup();
    echoAnswers.push(tokenRejected(), { echo: 'ok' });
    await settle(tokens.get(app, Deadline.after(clock, 8000)), clock);
    wechat.current = 2; // WeChat moved on to a new token

    const outcome = await settle(call(new EchoEndpoint()), clock);

    expect(outcome).toEqual({ state: 'fulfilled', value: 'ok' });
    expect(echoCalls).toEqual([{ token: tokenN(1) }, { token: tokenN(2) }]);
    expect(await settle(tokens.get(app, Deadline.after(clock, 8000)), clock)).toEqual({
      state: 'fulfilled',
      value: tokenN(2),
    });
  });

  it('token rejected while WeChat keeps handing out the same one → one force_refresh, then the retry', async () => {
    const { call, clock, echoAnswers, echoCalls, tokenCalls } = setup();
    echoAnswers.push(tokenRejected(), { echo: 'ok' });

    expect(await settle(call(new EchoEndpoint()), clock)).toEqual({ state: 'fulfilled', value: 'ok' });

    expect(tokenCalls.map((r) => r.json?.force_refresh === true)).toEqual([false, false, true]);
    expect(echoCalls).toEqual([{ token: tokenN(1) }, { token: tokenN(2) }]);
  });

  it('token rejected twice → WX_UNAVAILABLE after exactly two calls of the endpoint (never a loop)', async () => {
    const { call, clock, echoAnswers, echoCalls, tokenCalls } = setup();
    const second = tokenRejected();
    echoAnswers.push(tokenRejected(), second, { echo: 'never' });

    const outcome = await settle(call(new EchoEndpoint()), clock);

    expect(outcome.state).toBe('rejected');
    const e = (outcome as { error: AppException }).error;
    expect(e).toBeInstanceOf(AppException);
    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(e.getStatus()).toBe(503);
    expect(e.extras).toMatchObject({ retryAfter: 5, cause: second });
    expect(echoCalls).toHaveLength(2);
    // The first token, then the replacement: WeChat handed back the refused one, so one force_refresh.
    expect(tokenCalls.map((r) => r.json?.force_refresh === true)).toEqual([false, false, true]);
  });

  it('other failures of the endpoint are passed on without touching the token', async () => {
    const { call, clock, echoAnswers, echoCalls, tokenCalls } = setup();
    echoAnswers.push(new WechatUpstreamError('errcode', { errcode: 40013 }));

    const outcome = await settle(call(new EchoEndpoint()), clock);

    expect((outcome as { error: AppException }).error.code).toBe('WX_MISCONFIGURED');
    expect(echoCalls).toHaveLength(1);
    expect(tokenCalls).toHaveLength(1);
  });

  it('a failing token fetch ends the call without calling the endpoint', async () => {
    const { call, clock, send, echoCalls } = setup();
    send.mockRejectedValueOnce(new WechatUpstreamError('errcode', { errcode: 40125 }));

    const outcome = await settle(call(new EchoEndpoint()), clock);

    expect((outcome as { error: AppException }).error.code).toBe('WX_MISCONFIGURED');
    expect(echoCalls).toHaveLength(0);
  });

  it('endpoints without usesAccessToken never fetch a token', async () => {
    const { call, clock, send, echoAnswers, echoCalls, tokenCalls } = setup();
    echoAnswers.push({ echo: 'plain' });
    send.mockImplementationOnce(() =>
      Promise.resolve({ openid: 'openid-1', session_key: 'c2Vzc2lvbktleURvTm90TG9n' }),
    );

    expect(await settle(call(new Code2SessionCall(false), 'code-1'), clock)).toEqual({
      state: 'fulfilled',
      value: { openid: 'openid-1', sessionKey: 'c2Vzc2lvbktleURvTm90TG9n' },
    });
    expect(await settle(call(new EchoEndpoint(false)), clock)).toEqual({
      state: 'fulfilled',
      value: 'plain',
    });

    expect(tokenCalls).toHaveLength(0);
    expect(echoCalls).toEqual([{ token: undefined }]);
  });
});
