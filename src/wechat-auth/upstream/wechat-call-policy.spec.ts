import { Readable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { FakeClock } from '../../common/clock/fake-clock';
import { AppException } from '../../common/errors/app.exception';
import type { ErrorCode } from '../../common/errors/error-codes';
import { Random } from '../../common/random/random';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import type { WechatAppCredentials } from '../../config/app-config';
import { deferred, flush, type Outcome, settle as settleOnClock } from '../../testing/async';
import { testConfig } from '../../testing/test-config';
import { Code2SessionCall, type Code2SessionResult, codeTag } from '../login/code2session.endpoint';
import { Deadline } from './deadline';
import { InterfaceTokenRejected, WechatCallPolicy } from './wechat-call-policy';
import type { ErrcodeMeaning, WechatEndpoint } from './wechat-endpoint';
import { type HttpAnswer, type HttpRequestFn, type LogContext, WechatHttp, type WechatRequest } from './wechat-http';
import { WechatUpstreamError } from './wechat-upstream.error';

const APP_ONE: WechatAppCredentials = { appid: 'wxapp_one', secret: 'secret-one' };
const APP_TWO: WechatAppCredentials = { appid: 'wxapp_two', secret: 'secret-two' };
/** jscode2session's answer on the wire, and what the endpoint makes of it. */
const SESSION_BODY = { openid: 'openid-1', session_key: 'c2Vzc2lvbi1rZXktMTIzNA==' };
const SESSION: Code2SessionResult = { openid: 'openid-1', sessionKey: 'c2Vzc2lvbi1rZXktMTIzNA==' };
// 12:00:45 UTC: 15 s before WeChat's minute quota resets.
const START = Date.UTC(2026, 0, 1, 12, 0, 45);
const DEADLINE_MS = 5000;

/** The settings the old client tests were written against. */
const ENV: Record<string, string> = {
  WECHAT_TIMEOUT_MS: '2000',
  WECHAT_MAX_RETRIES: '2',
  WECHAT_BREAKER_THRESHOLD: '5',
  WECHAT_BREAKER_COOLDOWN_MS: '30000',
  WECHAT_MAX_CONCURRENCY: '10',
  WECHAT_MAX_QUEUE: '10',
};

const network = () => new WechatUpstreamError('network');
const timeout = () => new WechatUpstreamError('timeout');
const http = (httpStatus: number) => new WechatUpstreamError('http', { httpStatus });
const errcode = (n: number) => new WechatUpstreamError('errcode', { errcode: n });

type Body = Record<string, unknown>;
/** What the fake WeChat does for one call: answer a wire body, fail, or run a function (to take time, stay pending). */
type Answer = Body | Error | ((timeoutMs: number) => Promise<Body>);

/** A second endpoint, to show the policy is the same for every endpoint and keyed by it. */
class EchoEndpoint implements WechatEndpoint<string, string> {
  readonly usesAccessToken = true;

  constructor(
    readonly name = 'echo',
    readonly errcodes: Readonly<Record<number, ErrcodeMeaning<string>>> = {},
  ) {}

  request(_app: WechatAppCredentials, input: string, accessToken: string | undefined): WechatRequest {
    return {
      method: 'POST',
      path: `/wxa/${this.name}`,
      ...(accessToken ? { query: { access_token: accessToken } } : {}),
      json: { input },
    };
  }

  logContext(input: string): LogContext {
    return { input };
  }

  parse(body: Body): string {
    if (typeof body.echo !== 'string') throw new WechatUpstreamError('unparsable');
    return body.echo;
  }
}

function setup(
  env: Record<string, string> = {},
  start = START,
  newStore = (clock: FakeClock) => new MemoryKvStore(clock),
) {
  const clock = new FakeClock(start);
  const store = newStore(clock);
  const config = testConfig({ ...ENV, ...env });

  const script: Answer[] = [];
  /** When each upstream call started (fake time), for which app and path, and the timeout it was given. */
  const attempts: { at: number; appid: string; path: string; timeoutMs: number; token?: string }[] = [];
  const send = jest.fn((request: WechatRequest, _log: LogContext, timeoutMs: number): Promise<Body> => {
    attempts.push({
      at: clock.now(),
      appid: String(request.query?.appid ?? request.json?.appid ?? ''),
      path: request.path,
      timeoutMs,
      token: request.query?.access_token,
    });
    const answer = script.shift();
    if (answer === undefined) return Promise.reject(new Error('unexpected upstream call'));
    if (typeof answer === 'function') return answer(timeoutMs);
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve(answer);
  });
  const wechatHttp = { send } as unknown as WechatHttp;

  const random = new Random();
  const fraction = jest.spyOn(random, 'fraction').mockReturnValue(0.5);
  const sleep = jest.spyOn(clock, 'sleep');

  const policy = new WechatCallPolicy(wechatHttp, config, clock, random, store);
  /** Script the next upstream answers, in order. */
  const answer = (...answers: Answer[]) => script.push(...answers);
  /** A call that takes `ms` of fake time (default: all it was given) and then fails as a timeout would. */
  const slowTimeout =
    (ms?: number): Answer =>
    async (timeoutMs) => {
      await clock.sleep(ms ?? timeoutMs);
      throw timeout();
    };
  /** One login's code2Session through the policy, with its own deadline. */
  const login = (
    app: WechatAppCredentials,
    code: string,
    opts: { deadlineMs?: number; call?: Code2SessionCall } = {},
  ): Promise<Code2SessionResult> =>
    policy.call(
      opts.call ?? new Code2SessionCall(false),
      app,
      code,
      Deadline.after(clock, opts.deadlineMs ?? DEADLINE_MS),
    );
  const echo = (
    endpoint: EchoEndpoint,
    app: WechatAppCredentials,
    token = 'TOKEN-1',
    deadlineMs = DEADLINE_MS,
  ) => policy.call(endpoint, app, 'hi', Deadline.after(clock, deadlineMs), { accessToken: token });
  return { clock, store, config, policy, send, attempts, answer, slowTimeout, fraction, sleep, login, echo };
}

/** How much fake time a call here may take before it counts as a hang (breaker cooldowns, long deadlines). */
const HANG_MS = 120_000;

const settle = <T>(promise: Promise<T>, clock: FakeClock): Promise<Outcome<T>> =>
  settleOnClock(promise, clock, HANG_MS);

async function failure(promise: Promise<unknown>, clock: FakeClock): Promise<AppException> {
  const outcome = await settle(promise, clock);
  if (outcome.state !== 'rejected') throw new Error('expected a rejection');
  expect(outcome.error).toBeInstanceOf(AppException);
  return outcome.error as AppException;
}

/** A 503 `code` with this Retry-After, carrying the upstream failure it ended on. */
function expectUnavailable(e: AppException, code: ErrorCode, retryAfter: number, cause: unknown): void {
  expect(e.code).toBe(code);
  expect(e.getStatus()).toBe(503);
  expect(e.extras.retryAfter).toBe(retryAfter);
  expect(e.extras.cause).toBe(cause);
}

/** The durations the policy slept for its backoff (the limiter's deadline timers only run when queued). */
function backoffs(sleep: jest.SpyInstance): number[] {
  return sleep.mock.calls.map(([ms]) => ms as number);
}

let errorLog: jest.SpyInstance;
let warnLog: jest.SpyInstance;

beforeEach(() => {
  errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  warnLog = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('WechatCallPolicy: success', () => {
  it("returns the endpoint's reading of the first answer, with the per-attempt timeout and no sleep", async () => {
    const { login, clock, send, answer, sleep } = setup();
    answer(SESSION_BODY);

    const outcome = await settle(login(APP_ONE, 'code-1'), clock);

    expect(outcome).toEqual({ state: 'fulfilled', value: SESSION });
    expect(send).toHaveBeenCalledTimes(1);
    expect(send).toHaveBeenCalledWith(
      new Code2SessionCall(false).request(APP_ONE, 'code-1'),
      { api: 'jscode2session', appid: APP_ONE.appid, code: codeTag('code-1') },
      2000,
    );
    expect(sleep).not.toHaveBeenCalled();
  });

  it('hands the access token to the endpoint that needs it', async () => {
    const { echo, clock, attempts, answer } = setup();
    answer({ echo: 'hi' });

    expect(await settle(echo(new EchoEndpoint(), APP_ONE, 'TOKEN-abc'), clock)).toEqual({
      state: 'fulfilled',
      value: 'hi',
    });
    expect(attempts[0]).toMatchObject({ path: '/wxa/echo', token: 'TOKEN-abc' });
  });

  it('an answer of the wrong shape (parse throws anything) is WX_UNAVAILABLE, never a 500', async () => {
    const { policy, clock, answer } = setup({ WECHAT_MAX_RETRIES: '0' });
    const broken = new EchoEndpoint();
    broken.parse = () => {
      throw new TypeError('cannot read properties of undefined');
    };
    answer({ echo: 'hi' });

    const e = await failure(policy.call(broken, APP_ONE, 'hi', Deadline.after(clock, DEADLINE_MS)), clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(e.getStatus()).toBe(503);
    expect((e.extras.cause as WechatUpstreamError).failure).toBe('unparsable');
  });
});

describe('WechatCallPolicy: retries', () => {
  it.each<[string, () => WechatUpstreamError]>([
    ['a network error', network],
    ['a timeout', timeout],
    ['HTTP 500', () => http(500)],
    ['HTTP 502', () => http(502)],
    ['errcode -1', () => errcode(-1)],
  ])(
    'retries %s up to maxRetries, then answers WX_UNAVAILABLE 503 with Retry-After',
    async (_label, make) => {
      const { login, clock, send, answer } = setup({ WECHAT_MAX_RETRIES: '2' });
      const last = make();
      answer(make(), make(), last);

      const e = await failure(login(APP_ONE, 'code-1'), clock);

      expect(send).toHaveBeenCalledTimes(3);
      expectUnavailable(e, 'WX_UNAVAILABLE', 5, last);
    },
  );

  it('returns the session when a retry succeeds, resending the same request', async () => {
    const { login, clock, send, answer } = setup();
    answer(timeout(), errcode(-1), SESSION_BODY);

    const outcome = await settle(login(APP_ONE, 'code-1'), clock);

    expect(outcome).toEqual({ state: 'fulfilled', value: SESSION });
    expect(send).toHaveBeenCalledTimes(3);
    const request = new Code2SessionCall(false).request(APP_ONE, 'code-1');
    expect(send.mock.calls.every(([sent]) => JSON.stringify(sent) === JSON.stringify(request))).toBe(true);
  });

  it('makes a single attempt when maxRetries is 0', async () => {
    const { login, clock, send, answer } = setup({ WECHAT_MAX_RETRIES: '0' });
    answer(network());

    const e = await failure(login(APP_ONE, 'code-1'), clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(send).toHaveBeenCalledTimes(1);
  });

  it.each<[string, () => WechatUpstreamError, ErrorCode, number]>([
    ['40029', () => errcode(40029), 'WX_CODE_INVALID', 401],
    ['40163 on the first attempt', () => errcode(40163), 'WX_CODE_USED', 401],
    ['40226', () => errcode(40226), 'WX_USER_BLOCKED', 403],
    ['45011', () => errcode(45011), 'WX_RATE_LIMITED', 429],
    ['45009', () => errcode(45009), 'WX_UNAVAILABLE', 503],
    ['40013', () => errcode(40013), 'WX_MISCONFIGURED', 503],
    ['40125', () => errcode(40125), 'WX_MISCONFIGURED', 503],
    ['an unknown errcode', () => errcode(99999), 'WX_UNAVAILABLE', 503],
    ['an unparsable answer', () => new WechatUpstreamError('unparsable'), 'WX_UNAVAILABLE', 503],
    ['HTTP 404', () => http(404), 'WX_UNAVAILABLE', 503],
  ])('never retries %s: one call, → %s', async (_label, make, code, status) => {
    const { login, clock, send, answer, sleep } = setup({ WECHAT_MAX_RETRIES: '3' });
    const upstream = make();
    answer(upstream);

    const e = await failure(login(APP_ONE, 'code-1'), clock);

    expect(send).toHaveBeenCalledTimes(1);
    expect(sleep).not.toHaveBeenCalled();
    expect(e.code).toBe(code);
    expect(e.getStatus()).toBe(status);
    expect(e.extras.cause).toBe(upstream);
  });

  it('an HTTP 5xx that somehow carries an errcode is retried and ends unavailable, never as a 401', async () => {
    // Only a WeChat errcode answer may turn into a client error.
    const { login, clock, send, answer } = setup({ WECHAT_MAX_RETRIES: '1' });
    const odd = () => new WechatUpstreamError('http', { httpStatus: 500, errcode: 40029 });
    answer(odd(), odd());

    const e = await failure(login(APP_ONE, 'code-1'), clock);

    expect(send).toHaveBeenCalledTimes(2);
    expect(e.code).toBe('WX_UNAVAILABLE');
  });

  it('does not retry errors that are not WeChat failures, and lets them through untouched', async () => {
    const { login, clock, send, answer } = setup();
    const bug = new TypeError('boom');
    answer(bug);

    const outcome = await settle(login(APP_ONE, 'code-1'), clock);

    expect(outcome).toEqual({ state: 'rejected', error: bug });
    expect(send).toHaveBeenCalledTimes(1);
  });
});

describe('WechatCallPolicy: the login doubt rules (Code2SessionCall)', () => {
  it('40163 on a retry → WX_RETRY_LOGIN: the timed-out attempt may have consumed the code', async () => {
    const { login, clock, send, answer } = setup();
    const used = errcode(40163);
    answer(timeout(), used);

    const e = await failure(login(APP_ONE, 'code-1'), clock);

    expect(send).toHaveBeenCalledTimes(2);
    expectUnavailable(e, 'WX_RETRY_LOGIN', 1, used);
  });

  it('a login that ended in doubt makes a later 40163 for that code WX_RETRY_LOGIN, not 401', async () => {
    const { login, clock, send, answer } = setup({ WECHAT_MAX_RETRIES: '0' });
    answer(new WechatUpstreamError('timeout', { maybeDelivered: true }), errcode(40163), errcode(40163));
    const first = new Code2SessionCall(false);

    expect((await failure(login(APP_ONE, 'code-1', { call: first }), clock)).code).toBe('WX_UNAVAILABLE');
    expect(first.maybeSpent).toBe(true);
    // The client retries with the same code (the service remembers the doubt); WeChat had spent it.
    const again = await failure(
      login(APP_ONE, 'code-1', { call: new Code2SessionCall(first.maybeSpent) }),
      clock,
    );
    expect(again.code).toBe('WX_RETRY_LOGIN');
    expect(again.getStatus()).toBe(503);
    // A code with no doubt on it keeps the plain meaning of 40163.
    expect((await failure(login(APP_ONE, 'code-2'), clock)).code).toBe('WX_CODE_USED');
    expect(send).toHaveBeenCalledTimes(3);
  });

  it('the doubt is kept also when the call ends on the breaker, not on the failed attempt itself', async () => {
    const { login, clock, send, answer } = setup({
      WECHAT_BREAKER_THRESHOLD: '1',
      WECHAT_BREAKER_COOLDOWN_MS: '1000',
    });
    answer(new WechatUpstreamError('timeout', { maybeDelivered: true }), errcode(40163));
    const first = new Code2SessionCall(false);

    // The timeout opens the breaker; the planned retry is refused by it.
    expect((await failure(login(APP_ONE, 'code-1', { call: first }), clock)).code).toBe('WX_UNAVAILABLE');
    expect(send).toHaveBeenCalledTimes(1);
    expect(first.maybeSpent).toBe(true);
    clock.advance(1000);
    const again = login(APP_ONE, 'code-1', { call: new Code2SessionCall(first.maybeSpent) });
    expect((await failure(again, clock)).code).toBe('WX_RETRY_LOGIN');
  });

  it('a failure before the request left (connection refused) leaves no doubt about the code', async () => {
    const { login, clock, answer } = setup({ WECHAT_MAX_RETRIES: '0' });
    answer(new WechatUpstreamError('network', { maybeDelivered: false }), errcode(40163));
    const first = new Code2SessionCall(false);

    expect((await failure(login(APP_ONE, 'code-1', { call: first }), clock)).code).toBe('WX_UNAVAILABLE');
    expect(first.maybeSpent).toBe(false);
    const again = login(APP_ONE, 'code-1', { call: new Code2SessionCall(first.maybeSpent) });
    expect((await failure(again, clock)).code).toBe('WX_CODE_USED');
  });

  it('after a refused connection, a retry that gets 40163 is still WX_RETRY_LOGIN (the rule is per retry)', async () => {
    const { login, clock, answer } = setup();
    answer(new WechatUpstreamError('network', { maybeDelivered: false }), errcode(40163));

    expect((await failure(login(APP_ONE, 'code-1'), clock)).code).toBe('WX_RETRY_LOGIN');
  });
});

describe('WechatCallPolicy: backoff', () => {
  it('sleeps a capped exponential backoff scaled by the random fraction between attempts', async () => {
    const { login, clock, send, attempts, answer, fraction, sleep } = setup({
      WECHAT_MAX_RETRIES: '5',
      WECHAT_BREAKER_THRESHOLD: '10',
    });
    fraction.mockReturnValue(0.5);
    answer(network(), network(), network(), network(), network(), SESSION_BODY);

    const outcome = await settle(login(APP_ONE, 'code-1', { deadlineMs: 20_000 }), clock);

    expect(outcome.state).toBe('fulfilled');
    expect(send).toHaveBeenCalledTimes(6);
    // Windows 100, 200, 400, 800, 1000 (cap), halved by the jitter.
    expect(backoffs(sleep)).toEqual([50, 100, 200, 400, 500]);
    // Each retry starts exactly after its backoff.
    expect(attempts.map((a) => a.at - START)).toEqual([0, 50, 150, 350, 750, 1250]);
  });

  it('never sleeps a whole window or more (full jitter below the cap)', async () => {
    const { login, clock, answer, fraction, sleep } = setup({
      WECHAT_MAX_RETRIES: '5',
      WECHAT_BREAKER_THRESHOLD: '10',
    });
    fraction.mockReturnValue(0.9999);
    answer(network(), network(), network(), network(), network(), SESSION_BODY);

    expect(await settle(login(APP_ONE, 'code-1', { deadlineMs: 20_000 }), clock)).toEqual({
      state: 'fulfilled',
      value: SESSION,
    });

    expect(backoffs(sleep)).toEqual([99, 199, 399, 799, 999]);
  });

  it('follows the random source call by call', async () => {
    const { login, clock, answer, fraction, sleep } = setup({ WECHAT_MAX_RETRIES: '2' });
    fraction.mockReturnValueOnce(0).mockReturnValueOnce(0.25);
    answer(errcode(-1), errcode(-1), SESSION_BODY);

    expect(await settle(login(APP_ONE, 'code-1'), clock)).toEqual({ state: 'fulfilled', value: SESSION });

    expect(backoffs(sleep)).toEqual([0, 50]);
  });
});

describe("WechatCallPolicy: the caller's deadline", () => {
  it('stops retrying when the deadline leaves no room; every attempt fits in what is left', async () => {
    const { login, clock, send, attempts, answer, slowTimeout } = setup({
      WECHAT_TIMEOUT_MS: '2000',
      WECHAT_MAX_RETRIES: '5',
    });
    answer(slowTimeout(), slowTimeout(), slowTimeout());

    const e = await failure(login(APP_ONE, 'code-1', { deadlineMs: 3000 }), clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    // 0–2000 first attempt, 50 ms backoff, then only 950 ms left for the second; no room for a third.
    expect(send).toHaveBeenCalledTimes(2);
    expect(attempts.map((a) => [a.at - START, a.timeoutMs])).toEqual([
      [0, 2000],
      [2050, 950],
    ]);
    expect(clock.now() - START).toBe(3000);
  });

  it.each<[number, number]>([
    [2250, 2],
    [2249, 1],
  ])(
    'with a %i ms deadline makes %i attempt(s): none starts with less than 200 ms left',
    async (deadlineMs, calls) => {
      const { login, clock, send, attempts, answer, slowTimeout } = setup({
        WECHAT_TIMEOUT_MS: '2000',
        WECHAT_MAX_RETRIES: '5',
      });
      answer(slowTimeout(), slowTimeout());

      await failure(login(APP_ONE, 'code-1', { deadlineMs }), clock);

      expect(send).toHaveBeenCalledTimes(calls);
      for (const a of attempts) {
        const left = START + deadlineMs - a.at;
        expect(left).toBeGreaterThanOrEqual(200);
        expect(a.timeoutMs).toBeLessThanOrEqual(left);
      }
    },
  );

  it('stops before a retry whose backoff alone would run past the deadline', async () => {
    const { login, clock, send, answer, fraction, sleep } = setup({ WECHAT_MAX_RETRIES: '5' });
    fraction.mockReturnValue(0.9999);
    // Instant failures: 99 + 199 + 399 = 697 ms of backoff; 697 + 799 + 200 would pass the deadline.
    answer(network(), network(), network(), network(), network(), network());

    const e = await failure(login(APP_ONE, 'code-1', { deadlineMs: 1000 }), clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(backoffs(sleep)).toEqual([99, 199, 399]);
    expect(send).toHaveBeenCalledTimes(4);
  });

  it('a deadline already too close makes no attempt at all', async () => {
    const { login, clock, send } = setup();

    const e = await failure(login(APP_ONE, 'code-1', { deadlineMs: 199 }), clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(send).not.toHaveBeenCalled();
  });

  it('the deadline is the one handed in: time spent before the call counts', async () => {
    const { policy, clock, attempts, answer } = setup({ WECHAT_TIMEOUT_MS: '3000' });
    answer(SESSION_BODY);
    const deadline = Deadline.after(clock, 8000);
    clock.advance(7000); // e.g. waiting for another instance's claim on the code

    await settle(policy.call(new Code2SessionCall(false), APP_ONE, 'code-1', deadline), clock);

    expect(attempts[0].timeoutMs).toBe(1000);
  });
});

describe('WechatCallPolicy: circuit breaker', () => {
  async function openBreaker(s: ReturnType<typeof setup>, threshold: number) {
    for (let i = 0; i < threshold; i++) {
      s.answer(network());
      await failure(s.login(APP_ONE, `code-${i}`), s.clock);
    }
  }
  /** No retries, a threshold of 3 and a 30 s cooldown; the circuit opened by 3 failures (3 sends). */
  async function withOpenCircuit() {
    const s = setup({
      WECHAT_MAX_RETRIES: '0',
      WECHAT_BREAKER_THRESHOLD: '3',
      WECHAT_BREAKER_COOLDOWN_MS: '30000',
    });
    await openBreaker(s, 3);
    return s;
  }

  it('opens after the threshold of consecutive upstream failures: the next call fails fast without calling WeChat', async () => {
    const s = await withOpenCircuit();
    expect(s.send).toHaveBeenCalledTimes(3);
    expect(s.policy.breaker(APP_ONE.appid, 'jscode2session').current).toBe('open');

    const e = await failure(s.login(APP_ONE, 'code-x'), s.clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(e.getStatus()).toBe(503);
    expect(e.extras.retryAfter).toBe(30);
    expect(s.send).toHaveBeenCalledTimes(3);
  });

  it("counts a call's retries towards the threshold and stops retrying once it opens", async () => {
    const { login, policy, clock, send, answer } = setup({
      WECHAT_MAX_RETRIES: '5',
      WECHAT_BREAKER_THRESHOLD: '2',
    });
    answer(timeout(), timeout(), SESSION_BODY);

    const e = await failure(login(APP_ONE, 'code-1'), clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(send).toHaveBeenCalledTimes(2);
    expect(policy.breaker(APP_ONE.appid, 'jscode2session').current).toBe('open');
  });

  it('after the cooldown lets one probe through; its success closes the circuit', async () => {
    const s = await withOpenCircuit();

    s.clock.advance(29_000);
    expect((await failure(s.login(APP_ONE, 'code-a'), s.clock)).code).toBe('WX_UNAVAILABLE');
    expect(s.send).toHaveBeenCalledTimes(3);

    s.clock.advance(1000);
    s.answer(SESSION_BODY, SESSION_BODY);
    expect(await settle(s.login(APP_ONE, 'code-b'), s.clock)).toEqual({ state: 'fulfilled', value: SESSION });
    expect(s.policy.breaker(APP_ONE.appid, 'jscode2session').current).toBe('closed');
    expect(await settle(s.login(APP_ONE, 'code-c'), s.clock)).toEqual({ state: 'fulfilled', value: SESSION });
    expect(s.send).toHaveBeenCalledTimes(5);
  });

  it('while the probe is out, other calls fail fast without calling WeChat', async () => {
    const s = await withOpenCircuit();
    s.clock.advance(30_000);
    const probeAnswer = deferred<Body>();
    s.answer(() => probeAnswer.promise);

    const probe = s.login(APP_ONE, 'code-probe');
    await flush();
    const other = await failure(s.login(APP_ONE, 'code-other'), s.clock);

    expect(other.code).toBe('WX_UNAVAILABLE');
    expect(s.send).toHaveBeenCalledTimes(4);
    probeAnswer.resolve(SESSION_BODY);
    await expect(probe).resolves.toEqual(SESSION);
  });

  it('a failed probe reopens the circuit for a full cooldown', async () => {
    const s = await withOpenCircuit();
    s.clock.advance(30_000);
    s.answer(network());

    await failure(s.login(APP_ONE, 'code-probe'), s.clock);
    const e = await failure(s.login(APP_ONE, 'code-next'), s.clock);

    expect(e.extras.retryAfter).toBe(30);
    expect(s.send).toHaveBeenCalledTimes(4);
  });

  it('a probe ended by a local error (not a WeChat failure) frees the probe slot', async () => {
    const s = await withOpenCircuit();
    s.clock.advance(30_000);
    s.answer(new TypeError('boom'), SESSION_BODY);

    expect((await settle(s.login(APP_ONE, 'code-probe'), s.clock)).state).toBe('rejected');
    expect(await settle(s.login(APP_ONE, 'code-next'), s.clock)).toEqual({
      state: 'fulfilled',
      value: SESSION,
    });
  });

  it('business errcodes (40029) do not open it: WeChat answered', async () => {
    const { login, policy, clock, send, answer } = setup({
      WECHAT_MAX_RETRIES: '0',
      WECHAT_BREAKER_THRESHOLD: '3',
    });
    for (let i = 0; i < 5; i++) {
      answer(errcode(40029));
      expect((await failure(login(APP_ONE, `code-${i}`), clock)).code).toBe('WX_CODE_INVALID');
    }

    expect(send).toHaveBeenCalledTimes(5);
    expect(policy.breaker(APP_ONE.appid, 'jscode2session').current).toBe('closed');
  });

  it('a business errcode between failures resets the count of consecutive failures', async () => {
    const { login, policy, clock, send, answer } = setup({
      WECHAT_MAX_RETRIES: '0',
      WECHAT_BREAKER_THRESHOLD: '3',
    });
    answer(network(), network(), errcode(40029), network(), network(), SESSION_BODY);
    for (let i = 0; i < 5; i++) await failure(login(APP_ONE, `code-${i}`), clock);

    expect(policy.breaker(APP_ONE.appid, 'jscode2session').current).toBe('closed');
    expect(await settle(login(APP_ONE, 'code-5'), clock)).toEqual({ state: 'fulfilled', value: SESSION });
    expect(send).toHaveBeenCalledTimes(6);
  });

  it('is per appid: another app still reaches WeChat', async () => {
    const s = setup({ WECHAT_MAX_RETRIES: '0', WECHAT_BREAKER_THRESHOLD: '3' });
    await openBreaker(s, 3);
    s.answer(SESSION_BODY);

    expect(await settle(s.login(APP_TWO, 'code-2'), s.clock)).toEqual({ state: 'fulfilled', value: SESSION });
    expect(s.send).toHaveBeenCalledTimes(4);
    expect(s.attempts[3].appid).toBe(APP_TWO.appid);
  });

  it('is per endpoint: another endpoint of the same app still reaches WeChat', async () => {
    const s = setup({ WECHAT_MAX_RETRIES: '0', WECHAT_BREAKER_THRESHOLD: '3' });
    await openBreaker(s, 3);
    s.answer({ echo: 'hi' });

    expect(await settle(s.echo(new EchoEndpoint(), APP_ONE), s.clock)).toEqual({
      state: 'fulfilled',
      value: 'hi',
    });
    expect(s.policy.breaker(APP_ONE.appid, 'echo').current).toBe('closed');
    expect(s.policy.breaker(APP_ONE.appid, 'jscode2session').current).toBe('open');
  });
});

describe('WechatCallPolicy: minute quota (45011)', () => {
  it('answers WX_RATE_LIMITED with the seconds to the next minute and refuses that appid without calling WeChat until then', async () => {
    const { login, clock, send, answer } = setup();
    answer(errcode(45011));

    const first = await failure(login(APP_ONE, 'code-1'), clock);
    expect(first.code).toBe('WX_RATE_LIMITED');
    expect(first.extras.retryAfter).toBe(15);
    expect(send).toHaveBeenCalledTimes(1);

    clock.advance(10_000);
    const blocked = await failure(login(APP_ONE, 'code-2'), clock);
    expect(blocked.code).toBe('WX_RATE_LIMITED');
    expect(blocked.getStatus()).toBe(429);
    expect(blocked.extras.retryAfter).toBe(5);
    expect(send).toHaveBeenCalledTimes(1);

    // 12:01:00: a new quota minute.
    clock.advance(5000);
    answer(SESSION_BODY);
    expect(await settle(login(APP_ONE, 'code-3'), clock)).toEqual({ state: 'fulfilled', value: SESSION });
    expect(send).toHaveBeenCalledTimes(2);
  });

  it('does not block other appids', async () => {
    const { login, clock, send, attempts, answer } = setup();
    answer(errcode(45011), SESSION_BODY);

    await failure(login(APP_ONE, 'code-1'), clock);
    const outcome = await settle(login(APP_TWO, 'code-2'), clock);

    expect(outcome).toEqual({ state: 'fulfilled', value: SESSION });
    expect(send).toHaveBeenCalledTimes(2);
    expect(attempts[1].appid).toBe(APP_TWO.appid);
  });

  it('does not block other endpoints of the same app (each API has its own quota)', async () => {
    const { login, echo, clock, send, answer } = setup();
    answer(errcode(45011), { echo: 'hi' });

    await failure(login(APP_ONE, 'code-1'), clock);

    expect(await settle(echo(new EchoEndpoint(), APP_ONE), clock)).toEqual({
      state: 'fulfilled',
      value: 'hi',
    });
    expect(send).toHaveBeenCalledTimes(2);
  });

  /** Another instance on the same store, started (subscribed, loaded); `send` is what WeChat answers it. */
  const anotherInstance = async (
    s: ReturnType<typeof setup>,
    send = jest.fn((): Promise<Body> => Promise.reject(errcode(45011))),
  ) => {
    const policy = new WechatCallPolicy(
      { send } as unknown as WechatHttp,
      testConfig(ENV),
      s.clock,
      new Random(),
      s.store,
    );
    await policy.onModuleInit();
    const login = (code: string) =>
      policy.call(new Code2SessionCall(false), APP_ONE, code, Deadline.after(s.clock, DEADLINE_MS));
    return { policy, send, login };
  };

  it('shares the block with every instance: stored under wx:quota:<appid>:<endpoint>, published, loaded at start', async () => {
    const s = setup();
    const running = await anotherInstance(s, jest.fn());
    s.answer(errcode(45011));
    await failure(s.login(APP_ONE, 'code-1'), s.clock);
    expect(await s.store.ttl('wx:quota:wxapp_one:jscode2session')).toBe(15_000);
    const startedLater = await anotherInstance(s, jest.fn());
    const ttl = jest.spyOn(s.store, 'ttl');

    for (const instance of [running, startedLater]) {
      const e = await failure(instance.login('code-2'), s.clock);
      expect(e.code).toBe('WX_RATE_LIMITED');
      expect(e.extras.retryAfter).toBe(15);
      expect(instance.send).not.toHaveBeenCalled();
      instance.policy.onModuleDestroy();
    }
    // Both knew it from memory (the message, the load at start): no round trip per check.
    expect(ttl).not.toHaveBeenCalled();
  });

  it('checks the block without a store round trip, and before queueing when the slots are taken', async () => {
    const s = setup({ WECHAT_MAX_CONCURRENCY: '1', WECHAT_MAX_QUEUE: '4' });
    await s.policy.onModuleInit();
    const ttl = jest.spyOn(s.store, 'ttl');
    s.answer(SESSION_BODY);
    expect(await settle(s.login(APP_ONE, 'code-1'), s.clock)).toEqual({ state: 'fulfilled', value: SESSION });
    expect(ttl).not.toHaveBeenCalled();

    // One call holds the only slot; meanwhile another instance hits 45011: the next call is refused
    // at once instead of waiting for the slot.
    let finish!: () => void;
    s.answer(() => new Promise<typeof SESSION_BODY>((r) => (finish = () => r(SESSION_BODY))));
    const holding = settle(s.login(APP_ONE, 'code-2'), s.clock);
    await flush();
    const other = await anotherInstance(s);
    await failure(other.login('code-other'), s.clock);
    const refused = await failure(s.login(APP_ONE, 'code-3'), s.clock);
    expect(refused.code).toBe('WX_RATE_LIMITED');
    finish();
    await holding;
    other.policy.onModuleDestroy();
  });

  it('a block set by another instance while this call waits for its retry stops the retry', async () => {
    const s = setup();
    await s.policy.onModuleInit();
    const other = await anotherInstance(s);
    s.answer(async () => {
      await failure(other.login('code-other'), s.clock);
      throw network();
    });

    const e = await failure(s.login(APP_ONE, 'code-1'), s.clock);

    expect(e.code).toBe('WX_RATE_LIMITED');
    expect(s.send).toHaveBeenCalledTimes(1);
  });

  it('while its feed is not known complete, each check reads the store: a block stored meanwhile is not missed', async () => {
    /** A store whose subscription this test can lose (Redis' would, when its connection breaks). */
    class LosableStore extends MemoryKvStore {
      lose = () => undefined as void;
      override subscribe(
        channel: string,
        onMessage: (m: string) => void,
        onResync: () => void,
        onLost?: () => void,
      ) {
        this.lose = () => onLost?.();
        return super.subscribe(channel, onMessage, onResync);
      }
    }
    const store = new LosableStore(new FakeClock(START));
    const s = setup({}, START, () => store);
    await s.policy.onModuleInit();
    // Stored without a message reaching this instance (its feed is down; or an older version's '1').
    store.lose();
    await s.store.set('wx:quota:wxapp_one:jscode2session', '1', 15_000);

    const e = await failure(s.login(APP_ONE, 'code-1'), s.clock);

    expect(e.code).toBe('WX_RATE_LIMITED');
    expect(e.extras.retryAfter).toBe(15);
    expect(s.send).not.toHaveBeenCalled();
    s.policy.onModuleDestroy();
  });

  // The quota resets at the wall-clock minute; the block must not outlast it when the 45011 came mid-second.
  it('lifts the block exactly when the minute turns, even when 45011 arrived mid-second', async () => {
    const { login, clock, send, answer } = setup({}, Date.UTC(2026, 0, 1, 12, 0, 45, 300));
    answer(errcode(45011), SESSION_BODY);
    await failure(login(APP_ONE, 'code-1'), clock);

    clock.advance(14_699); // 12:00:59.999: still blocked
    expect((await failure(login(APP_ONE, 'code-2'), clock)).code).toBe('WX_RATE_LIMITED');
    clock.advance(1); // 12:01:00.000
    const outcome = await settle(login(APP_ONE, 'code-3'), clock);

    expect(outcome).toEqual({ state: 'fulfilled', value: SESSION });
    expect(send).toHaveBeenCalledTimes(2);
  });
});

describe('WechatCallPolicy: misconfiguration alert', () => {
  const alerts = () =>
    errorLog.mock.calls.filter(
      ([payload]) => (payload as { alert?: string })?.alert === 'WECHAT_MISCONFIGURED',
    );

  it('alerts once per appid, again after a success followed by a new failure', async () => {
    const { login, clock, send, answer } = setup();
    answer(errcode(40013), errcode(40125), errcode(40013));

    for (let i = 0; i < 3; i++) {
      expect((await failure(login(APP_ONE, `code-${i}`), clock)).code).toBe('WX_MISCONFIGURED');
    }
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0][0]).toEqual({ alert: 'WECHAT_MISCONFIGURED', appid: APP_ONE.appid, errcode: 40013 });
    expect(JSON.stringify(errorLog.mock.calls)).not.toContain(APP_ONE.secret);

    answer(SESSION_BODY, errcode(40125));
    await settle(login(APP_ONE, 'code-ok'), clock);
    await failure(login(APP_ONE, 'code-bad'), clock);

    expect(alerts()).toHaveLength(2);
    expect(alerts()[1][0]).toMatchObject({ appid: APP_ONE.appid, errcode: 40125 });
    expect(send).toHaveBeenCalledTimes(5);
  });

  it('alerts once per appid across its endpoints (the credentials are the app’s)', async () => {
    const { login, echo, clock, answer } = setup();
    answer(errcode(40013), errcode(40013));

    await failure(login(APP_ONE, 'code-1'), clock);
    await failure(echo(new EchoEndpoint(), APP_ONE), clock);

    expect(alerts()).toHaveLength(1);
  });

  it('alerts separately for each appid', async () => {
    const { login, clock, answer } = setup();
    answer(errcode(40125), errcode(40125));

    await failure(login(APP_ONE, 'code-1'), clock);
    await failure(login(APP_TWO, 'code-2'), clock);

    expect(alerts().map(([payload]) => (payload as { appid: string }).appid)).toEqual([
      APP_ONE.appid,
      APP_TWO.appid,
    ]);
  });

  it('a business error (40029) is not a success that re-arms the alert', async () => {
    const { login, clock, answer } = setup();
    answer(errcode(40013), errcode(40029), errcode(40013));

    for (let i = 0; i < 3; i++) await failure(login(APP_ONE, `code-${i}`), clock);

    expect(alerts()).toHaveLength(1);
  });

  it('does not alert for other failures', async () => {
    const { login, clock, answer } = setup({ WECHAT_MAX_RETRIES: '0' });
    answer(errcode(40029), errcode(45011), network());

    await failure(login(APP_ONE, 'code-1'), clock);
    await failure(login(APP_ONE, 'code-2'), clock);
    clock.advance(60_000);
    await failure(login(APP_ONE, 'code-3'), clock);

    expect(errorLog).not.toHaveBeenCalled();
  });
});

describe('WechatCallPolicy: concurrency cap', () => {
  function saturated() {
    const s = setup({ WECHAT_MAX_CONCURRENCY: '2', WECHAT_MAX_QUEUE: '1' });
    const first = deferred<Body>();
    const second = deferred<Body>();
    s.answer(
      () => first.promise,
      () => second.promise,
    );
    const a = s.login(APP_ONE, 'code-a');
    const b = s.login(APP_ONE, 'code-b');
    return { ...s, first, second, a, b };
  }

  it('queues the third call and sheds the fourth with WX_UNAVAILABLE without calling WeChat', async () => {
    const { login, clock, send, answer, first, second, a, b } = saturated();
    answer(SESSION_BODY);
    await flush();
    expect(send).toHaveBeenCalledTimes(2);

    let thirdDone = false;
    const c = login(APP_ONE, 'code-c');
    void c.then(() => (thirdDone = true));
    await flush();
    const shed = await failure(login(APP_ONE, 'code-d'), clock);

    expect(shed.code).toBe('WX_UNAVAILABLE');
    expect(shed.getStatus()).toBe(503);
    expect(shed.extras.retryAfter).toBe(2);
    expect(thirdDone).toBe(false);
    expect(send).toHaveBeenCalledTimes(2);
    expect(warnLog).toHaveBeenCalledWith(
      expect.objectContaining({
        api: 'jscode2session',
        appid: APP_ONE.appid,
        reason: 'queue-full',
        inFlight: 2,
      }),
      'wechat call shed',
    );

    // A slot frees (even by a failure): the waiter proceeds.
    first.reject(errcode(40029));
    await expect(a).rejects.toMatchObject({ code: 'WX_CODE_INVALID' });
    await expect(c).resolves.toEqual(SESSION);
    expect(send).toHaveBeenCalledTimes(3);

    second.resolve(SESSION_BODY);
    await expect(b).resolves.toEqual(SESSION);
  });

  it("is per (appid, endpoint): a saturated login does not hold up another app's or another endpoint's calls", async () => {
    const { login, echo, policy, clock, send, answer, first, second, a, b } = saturated();
    await flush();
    expect(policy.limiter(APP_ONE.appid, 'jscode2session').inFlight).toBe(2);
    answer(SESSION_BODY, { echo: 'hi' });

    expect(await settle(login(APP_TWO, 'code-x'), clock)).toEqual({ state: 'fulfilled', value: SESSION });
    expect(await settle(echo(new EchoEndpoint(), APP_ONE), clock)).toEqual({
      state: 'fulfilled',
      value: 'hi',
    });
    expect(send).toHaveBeenCalledTimes(4);
    expect(policy.limiter(APP_ONE.appid, 'jscode2session').queued).toBe(0);

    first.resolve(SESSION_BODY);
    second.resolve(SESSION_BODY);
    await Promise.all([a, b]);
  });

  it('a waiter still queued when no attempt fits any more (200 ms before the deadline) gets WX_UNAVAILABLE without calling WeChat', async () => {
    const { login, clock, send, first, second, a, b } = saturated();
    await flush();
    const c = login(APP_ONE, 'code-c');

    const e = await failure(c, clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(clock.now() - START).toBe(DEADLINE_MS - 200);
    expect(send).toHaveBeenCalledTimes(2);
    first.resolve(SESSION_BODY);
    second.resolve(SESSION_BODY);
    await Promise.all([a, b]);
  });

  // A waiter let in just before its deadline has no time for a useful attempt (the retry loop's 200 ms rule).
  it('a waiter let in with less than 200 ms left does not start an attempt', async () => {
    const { login, clock, send, attempts, answer, first, second, a, b } = saturated();
    answer(SESSION_BODY);
    await flush();
    const c = login(APP_ONE, 'code-c');
    await flush();

    clock.advance(4900);
    first.resolve(SESSION_BODY);
    await a;
    const outcome = await settle(c, clock);

    expect(attempts.slice(2)).toEqual([]);
    expect(outcome.state).toBe('rejected');
    expect((outcome as { error: AppException }).error.code).toBe('WX_UNAVAILABLE');
    expect(send).toHaveBeenCalledTimes(2);
    second.resolve(SESSION_BODY);
    await b;
  });
});

describe('WechatCallPolicy: what each endpoint says its errcodes mean', () => {
  it("an endpoint's own meaning overrides COMMON_ERRCODES (-1 here is final, a 400, and WeChat is up)", async () => {
    const { policy, echo, clock, send, answer } = setup({
      WECHAT_MAX_RETRIES: '3',
      WECHAT_BREAKER_THRESHOLD: '1',
    });
    const endpoint = new EchoEndpoint('echo', { [-1]: { error: 'WX_CODE_INVALID', status: 400 } });
    answer(errcode(-1));

    const e = await failure(echo(endpoint, APP_ONE), clock);

    expect(send).toHaveBeenCalledTimes(1);
    expect(e.code).toBe('WX_CODE_INVALID');
    expect(e.getStatus()).toBe(400);
    expect(policy.breaker(APP_ONE.appid, 'echo').current).toBe('closed');
  });

  it('an errcode the endpoint marks retryable is retried', async () => {
    const { echo, clock, send, answer } = setup();
    const endpoint = new EchoEndpoint('echo', { 12345: { retryable: true } });
    answer(errcode(12345), { echo: 'hi' });

    expect(await settle(echo(endpoint, APP_ONE), clock)).toEqual({ state: 'fulfilled', value: 'hi' });
    expect(send).toHaveBeenCalledTimes(2);
  });

  it('an `answer` meaning resolves the call with that value, without retrying, and counts as WeChat up', async () => {
    const s = setup({ WECHAT_MAX_RETRIES: '0', WECHAT_BREAKER_THRESHOLD: '2' });
    const endpoint = new EchoEndpoint('checksession', { 87009: { answer: 'stale' } });
    s.answer(network(), errcode(87009), network());

    await failure(s.echo(endpoint, APP_ONE), s.clock);
    expect(await settle(s.echo(endpoint, APP_ONE), s.clock)).toEqual({ state: 'fulfilled', value: 'stale' });
    await failure(s.echo(endpoint, APP_ONE), s.clock);

    expect(s.send).toHaveBeenCalledTimes(3);
    // network, answer, network: never two failures in a row.
    expect(s.policy.breaker(APP_ONE.appid, 'checksession').current).toBe('closed');
  });

  it.each([40001, 40014, 42001])(
    'a tokenRejected errcode (%i) throws InterfaceTokenRejected with the token, without retrying',
    async (n) => {
      const { echo, policy, clock, send, answer, sleep } = setup({ WECHAT_MAX_RETRIES: '3' });
      const rejected = errcode(n);
      answer(rejected);

      const outcome = await settle(echo(new EchoEndpoint(), APP_ONE, 'TOKEN-old'), clock);

      expect(outcome.state).toBe('rejected');
      const error = (outcome as { error: unknown }).error;
      expect(error).toBeInstanceOf(InterfaceTokenRejected);
      expect(error).toMatchObject({ token: 'TOKEN-old', failure: rejected });
      expect(send).toHaveBeenCalledTimes(1);
      expect(sleep).not.toHaveBeenCalled();
      expect(policy.breaker(APP_ONE.appid, 'echo').current).toBe('closed');
    },
  );

  it('an endpoint can override a token errcode to a plain error', async () => {
    const { echo, clock, answer } = setup();
    answer(errcode(40001));

    const e = await failure(
      echo(new EchoEndpoint('echo', { 40001: { error: 'WX_MISCONFIGURED' } }), APP_ONE),
      clock,
    );

    expect(e.code).toBe('WX_MISCONFIGURED');
  });
});

describe("WechatCallPolicy: the request's id on the call's log lines", () => {
  const CONTEXT = { requestId: 'req-0b5e3f7a-upstream', clientIp: '203.0.113.7' };
  const lines = (spy: jest.SpyInstance, message: string) =>
    spy.mock.calls.filter(([, m]) => m === message).map(([payload]) => payload as Record<string, unknown>);

  it('hands it to WechatHttp with the log context of every attempt, never the client IP', async () => {
    const { policy, clock, send, answer } = setup();
    answer(network(), SESSION_BODY);
    const call = policy.call(
      new Code2SessionCall(false),
      APP_ONE,
      'code-1',
      Deadline.after(clock, DEADLINE_MS),
      {
        context: CONTEXT,
      },
    );
    expect(await settle(call, clock)).toEqual({ state: 'fulfilled', value: SESSION });
    expect(send.mock.calls.map(([, log]) => log)).toEqual([
      { api: 'jscode2session', appid: APP_ONE.appid, code: codeTag('code-1'), requestId: CONTEXT.requestId },
      { api: 'jscode2session', appid: APP_ONE.appid, code: codeTag('code-1'), requestId: CONTEXT.requestId },
    ]);
    expect(lines(warnLog, 'retrying wechat call')).toEqual([
      expect.objectContaining({ requestId: CONTEXT.requestId, attempt: 1, failure: 'network' }),
    ]);
    expect(JSON.stringify(warnLog.mock.calls)).not.toContain(CONTEXT.clientIp);
  });

  it('outside a request (no context) the lines carry no requestId', async () => {
    const { login, clock, send, answer } = setup();
    answer(network(), SESSION_BODY);
    await settle(login(APP_ONE, 'code-1'), clock);
    expect(send.mock.calls[0][1]).not.toHaveProperty('requestId');
    expect(lines(warnLog, 'retrying wechat call')[0]).not.toHaveProperty('requestId');
  });

  it('logs the breaker opening (with the request that tripped it), reopening and closing: one line per change', async () => {
    const { policy, clock, answer } = setup({
      WECHAT_MAX_RETRIES: '0',
      WECHAT_BREAKER_THRESHOLD: '2',
      WECHAT_BREAKER_COOLDOWN_MS: '30000',
    });
    const infoLog = Logger.prototype.log as unknown as jest.SpyInstance;
    const call = (n: number) =>
      policy.call(new Code2SessionCall(false), APP_ONE, `code-${n}`, Deadline.after(clock, DEADLINE_MS), {
        context: { requestId: `req-${n}`, clientIp: '203.0.113.7' },
      });
    answer(network(), network());
    await failure(call(1), clock);
    expect(lines(warnLog, 'wechat circuit opened: calls fail fast')).toEqual([]);
    await failure(call(2), clock);
    // Calls failing fast while it is open add nothing.
    await failure(call(3), clock);
    expect(lines(warnLog, 'wechat circuit opened: calls fail fast')).toEqual([
      expect.objectContaining({
        requestId: 'req-2',
        api: 'jscode2session',
        breaker: 'open',
        cooldownMs: 30000,
      }),
    ]);

    clock.advance(30_000);
    answer(network());
    await failure(call(4), clock);
    expect(lines(warnLog, 'wechat circuit reopened: the probe failed')).toEqual([
      expect.objectContaining({ requestId: 'req-4', breaker: 'open' }),
    ]);

    clock.advance(30_000);
    answer(SESSION_BODY, SESSION_BODY);
    await settle(call(5), clock);
    await settle(call(6), clock);
    expect(lines(infoLog, 'wechat circuit closed')).toEqual([
      expect.objectContaining({ requestId: 'req-5', breaker: 'closed' }),
    ]);
  });

  it('names the request on the misconfiguration alert and when a call is shed', async () => {
    const { policy, clock, answer } = setup({ WECHAT_MAX_CONCURRENCY: '1', WECHAT_MAX_QUEUE: '0' });
    answer(errcode(40013));
    await failure(
      policy.call(new Code2SessionCall(false), APP_ONE, 'code-1', Deadline.after(clock, DEADLINE_MS), {
        context: { requestId: 'req-misconfigured', clientIp: '' },
      }),
      clock,
    );
    expect(errorLog.mock.calls.map(([payload]) => payload)).toEqual([
      { alert: 'WECHAT_MISCONFIGURED', appid: APP_ONE.appid, errcode: 40013, requestId: 'req-misconfigured' },
    ]);

    const held = deferred<Body>();
    answer(() => held.promise);
    const first = policy.call(
      new Code2SessionCall(false),
      APP_ONE,
      'code-2',
      Deadline.after(clock, DEADLINE_MS),
    );
    await flush();
    await failure(
      policy.call(new Code2SessionCall(false), APP_ONE, 'code-3', Deadline.after(clock, DEADLINE_MS), {
        context: { requestId: 'req-shed', clientIp: '' },
      }),
      clock,
    );
    expect(lines(warnLog, 'wechat call shed')).toEqual([
      expect.objectContaining({ requestId: 'req-shed', reason: 'queue-full' }),
    ]);
    held.resolve(SESSION_BODY);
    await settle(first, clock);
  });
});

describe('WechatCallPolicy over the real WechatHttp: nothing secret in the logs', () => {
  it('a retried, failing login logs neither the URL, the AppSecret nor the code', async () => {
    const clock = new FakeClock(START);
    const config = testConfig(ENV);
    const app = config.wechat.apps.get('wxapp_one')!;
    const code = 'LOGINCODE-do-not-log-1234';
    const requestFn = jest.fn<Promise<HttpAnswer>, Parameters<HttpRequestFn>>();
    const answer = (statusCode: number, text: string): HttpAnswer => ({
      statusCode,
      headers: {},
      body: Readable.from([Buffer.from(text)]),
    });
    requestFn
      .mockRejectedValueOnce(Object.assign(new Error(`other side closed ${app.secret}`), { code: 'UND_ERR_SOCKET' }))
      .mockResolvedValueOnce(answer(200, `{"errcode":-1,"errmsg":"busy ${code} ${app.secret}"}`))
      .mockResolvedValueOnce(answer(502, `<html>${app.secret}</html>`));
    const random = new Random();
    jest.spyOn(random, 'fraction').mockReturnValue(0.5);
    const policy = new WechatCallPolicy(
      new WechatHttp(config, requestFn),
      config,
      clock,
      random,
      new MemoryKvStore(clock),
    );

    const e = await failure(
      policy.call(new Code2SessionCall(false), app, code, Deadline.after(clock, DEADLINE_MS)),
      clock,
    );

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(requestFn).toHaveBeenCalledTimes(3);
    const logged = JSON.stringify([...warnLog.mock.calls, ...errorLog.mock.calls]);
    expect(logged).toContain('retrying wechat call');
    expect(logged).toContain(codeTag(code));
    expect(logged).not.toContain(app.secret);
    expect(logged).not.toContain(code);
    expect(logged).not.toContain('jscode2session?');
  });
});
