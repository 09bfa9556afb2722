import { Logger } from '@nestjs/common';
import { FakeClock } from '../common/clock/fake-clock';
import { AppException } from '../common/errors/app.exception';
import type { ErrorCode } from '../common/errors/error-codes';
import type { Random } from '../common/random/random';
import { MemoryKvStore } from '../common/store/memory-kv-store';
import type { AppConfig, WechatAppCredentials, WechatConfig } from '../config/app-config';
import { deferred, flush } from '../testing/async';
import { ResilientWechatClient } from './resilient-wechat.client';
import type { Code2SessionResult, WechatApiClient } from './wechat-api.client';
import { WechatUpstreamError } from './wechat-upstream.error';

const APP_ONE: WechatAppCredentials = { appid: 'wxapp_one', secret: 'secret-one' };
const APP_TWO: WechatAppCredentials = { appid: 'wxapp_two', secret: 'secret-two' };
const SESSION: Code2SessionResult = { openid: 'openid-1', sessionKey: 'c2Vzc2lvbi1rZXktMTIzNA==' };
// 12:00:45 UTC: 15 s before WeChat's minute quota resets.
const START = Date.UTC(2026, 0, 1, 12, 0, 45);

const DEFAULTS: Partial<WechatConfig> = {
  timeoutMs: 2000,
  loginDeadlineMs: 5000,
  maxRetries: 2,
  breakerThreshold: 5,
  breakerCooldownMs: 30_000,
  maxConcurrency: 10,
  maxQueue: 10,
};

const network = () => new WechatUpstreamError('network');
const timeout = () => new WechatUpstreamError('timeout');
const http = (httpStatus: number) => new WechatUpstreamError('http', { httpStatus });
const errcode = (n: number) => new WechatUpstreamError('errcode', { errcode: n });

/** What the fake WeChat does for one call: answer, fail, or run a function (e.g. to take time or stay pending). */
type Answer =
  | Code2SessionResult
  | WechatUpstreamError
  | Error
  | ((opts: { timeoutMs?: number }) => Promise<Code2SessionResult>);

function setup(overrides: Partial<WechatConfig> = {}, start = START) {
  const clock = new FakeClock(start);
  const store = new MemoryKvStore(clock);
  const config = {
    wechat: {
      defaultAppid: APP_ONE.appid,
      apps: new Map([
        [APP_ONE.appid, APP_ONE],
        [APP_TWO.appid, APP_TWO],
      ]),
      apiBase: 'https://api.weixin.qq.com',
      sandbox: false,
      connectTimeoutMs: 1000,
      ...DEFAULTS,
      ...overrides,
    },
  } as unknown as AppConfig;

  const script: Answer[] = [];
  /** When each upstream call started (fake time) and the timeout it was given. */
  const attempts: { at: number; appid: string; timeoutMs?: number }[] = [];
  const code2Session = jest.fn(
    (
      app: WechatAppCredentials,
      _code: string,
      opts: { timeoutMs?: number } = {},
    ): Promise<Code2SessionResult> => {
      attempts.push({ at: clock.now(), appid: app.appid, timeoutMs: opts.timeoutMs });
      const answer = script.shift();
      if (answer === undefined) return Promise.reject(new Error('unexpected upstream call'));
      if (typeof answer === 'function') return answer(opts);
      if (answer instanceof Error) return Promise.reject(answer);
      return Promise.resolve(answer);
    },
  );
  const wechat = { code2Session } as unknown as WechatApiClient;

  const fraction = jest.fn(() => 0.5);
  const random = { fraction } as unknown as Random;
  const sleep = jest.spyOn(clock, 'sleep');

  const client = new ResilientWechatClient(wechat, config, clock, random, store);
  /** Script the next upstream answers, in order. */
  const answer = (...answers: Answer[]) => script.push(...answers);
  /** A call that takes `ms` of fake time and then fails as a timeout would. */
  const slowTimeout =
    (ms?: number): Answer =>
    async (opts) => {
      await clock.sleep(ms ?? opts.timeoutMs ?? 0);
      throw timeout();
    };
  return { clock, store, client, code2Session, attempts, answer, slowTimeout, fraction, sleep };
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Flushes pending work and moves fake time forward 1 ms at a time until the promise settles. */
async function settle<T>(promise: Promise<T>, clock: FakeClock, limitMs = 120_000): Promise<Outcome<T>> {
  let outcome: Outcome<T> | undefined;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  for (let waited = 0; ; waited++) {
    await flush();
    if (outcome) return outcome;
    if (waited >= limitMs) throw new Error(`promise still pending after ${limitMs} ms of fake time`);
    clock.advance(1);
  }
}

async function failure(promise: Promise<unknown>, clock: FakeClock): Promise<AppException> {
  const outcome = await settle(promise, clock);
  if (outcome.ok) throw new Error('expected a rejection');
  expect(outcome.error).toBeInstanceOf(AppException);
  return outcome.error as AppException;
}

/** The durations the client slept for its backoff (the limiter's deadline timers are not backoffs). */
function backoffs(sleep: jest.SpyInstance): number[] {
  return sleep.mock.calls.map(([ms]) => ms as number);
}

let errorLog: jest.SpyInstance;

beforeEach(() => {
  errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('ResilientWechatClient: success', () => {
  it('returns the session from the first attempt, with the per-attempt timeout and no sleep', async () => {
    const { client, clock, code2Session, answer, sleep } = setup();
    answer(SESSION);

    const outcome = await settle(client.code2Session(APP_ONE, 'code-1'), clock);

    expect(outcome).toEqual({ ok: true, value: SESSION });
    expect(code2Session).toHaveBeenCalledTimes(1);
    expect(code2Session).toHaveBeenCalledWith(APP_ONE, 'code-1', { timeoutMs: 2000 });
    expect(sleep).not.toHaveBeenCalled();
  });
});

describe('ResilientWechatClient: retries', () => {
  it.each<[string, () => WechatUpstreamError]>([
    ['a network error', network],
    ['a timeout', timeout],
    ['HTTP 500', () => http(500)],
    ['HTTP 502', () => http(502)],
    ['errcode -1', () => errcode(-1)],
  ])(
    'retries %s up to maxRetries, then answers WX_UNAVAILABLE 503 with Retry-After',
    async (_label, make) => {
      const { client, clock, code2Session, answer } = setup({ maxRetries: 2 });
      const last = make();
      answer(make(), make(), last);

      const e = await failure(client.code2Session(APP_ONE, 'code-1'), clock);

      expect(code2Session).toHaveBeenCalledTimes(3);
      expect(e.code).toBe('WX_UNAVAILABLE');
      expect(e.getStatus()).toBe(503);
      expect(e.extras.retryAfter).toBe(5);
      expect(e.extras.cause).toBe(last);
    },
  );

  it('returns the session when a retry succeeds', async () => {
    const { client, clock, code2Session, answer } = setup();
    answer(timeout(), errcode(-1), SESSION);

    const outcome = await settle(client.code2Session(APP_ONE, 'code-1'), clock);

    expect(outcome).toEqual({ ok: true, value: SESSION });
    expect(code2Session).toHaveBeenCalledTimes(3);
    expect(code2Session.mock.calls.every(([app, code]) => app === APP_ONE && code === 'code-1')).toBe(true);
  });

  it('makes a single attempt when maxRetries is 0', async () => {
    const { client, clock, code2Session, answer } = setup({ maxRetries: 0 });
    answer(network());

    const e = await failure(client.code2Session(APP_ONE, 'code-1'), clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(code2Session).toHaveBeenCalledTimes(1);
  });

  it.each<[string, WechatUpstreamError, ErrorCode, number]>([
    ['40029', errcode(40029), 'WX_CODE_INVALID', 401],
    ['40163 on the first attempt', errcode(40163), 'WX_CODE_USED', 401],
    ['40226', errcode(40226), 'WX_USER_BLOCKED', 403],
    ['45011', errcode(45011), 'WX_RATE_LIMITED', 429],
    ['40013', errcode(40013), 'WX_MISCONFIGURED', 503],
    ['40125', errcode(40125), 'WX_MISCONFIGURED', 503],
    ['an unparsable answer', new WechatUpstreamError('unparsable'), 'WX_UNAVAILABLE', 503],
    ['HTTP 404', http(404), 'WX_UNAVAILABLE', 503],
  ])('never retries %s: one call, → %s', async (_label, upstream, code, status) => {
    const { client, clock, code2Session, answer, sleep } = setup({ maxRetries: 3 });
    answer(upstream);

    const e = await failure(client.code2Session(APP_ONE, 'code-1'), clock);

    expect(code2Session).toHaveBeenCalledTimes(1);
    expect(sleep).not.toHaveBeenCalled();
    expect(e.code).toBe(code);
    expect(e.getStatus()).toBe(status);
    expect(e.extras.cause).toBe(upstream);
  });

  it('40163 on a retry → WX_RETRY_LOGIN: the timed-out attempt may have consumed the code', async () => {
    const { client, clock, code2Session, answer } = setup();
    const used = errcode(40163);
    answer(timeout(), used);

    const e = await failure(client.code2Session(APP_ONE, 'code-1'), clock);

    expect(code2Session).toHaveBeenCalledTimes(2);
    expect(e.code).toBe('WX_RETRY_LOGIN');
    expect(e.getStatus()).toBe(503);
    expect(e.extras.retryAfter).toBe(1);
    expect(e.extras.cause).toBe(used);
  });

  it('a login that ended in doubt (the code may have reached WeChat) makes a later 40163 for that code WX_RETRY_LOGIN, not 401', async () => {
    const { client, clock, code2Session, answer } = setup({ maxRetries: 0 });
    const delivered = () => new WechatUpstreamError('timeout', { maybeDelivered: true });
    answer(delivered(), errcode(40163), errcode(40163));

    expect((await failure(client.code2Session(APP_ONE, 'code-1'), clock)).code).toBe('WX_UNAVAILABLE');
    // The client retries with the same code; WeChat had spent it on the timed-out call.
    const again = await failure(client.code2Session(APP_ONE, 'code-1'), clock);
    expect(again.code).toBe('WX_RETRY_LOGIN');
    expect(again.getStatus()).toBe(503);
    // Another code with no doubt on it keeps the plain meaning of 40163.
    expect((await failure(client.code2Session(APP_ONE, 'code-2'), clock)).code).toBe('WX_CODE_USED');
    expect(code2Session).toHaveBeenCalledTimes(3);
  });

  it('the doubt is remembered also when the login ends on the breaker, not on the failed call itself', async () => {
    const { client, clock, code2Session, answer } = setup({ breakerThreshold: 1, breakerCooldownMs: 1000 });
    answer(new WechatUpstreamError('timeout', { maybeDelivered: true }), errcode(40163));

    // The timeout opens the breaker; the planned retry is refused by it.
    expect((await failure(client.code2Session(APP_ONE, 'code-1'), clock)).code).toBe('WX_UNAVAILABLE');
    expect(code2Session).toHaveBeenCalledTimes(1);
    clock.advance(1000);
    expect((await failure(client.code2Session(APP_ONE, 'code-1'), clock)).code).toBe('WX_RETRY_LOGIN');
  });

  it('a failure before the request left (connection refused) leaves no doubt about the code', async () => {
    const { client, clock, answer } = setup({ maxRetries: 0 });
    answer(new WechatUpstreamError('network', { maybeDelivered: false }), errcode(40163));

    expect((await failure(client.code2Session(APP_ONE, 'code-1'), clock)).code).toBe('WX_UNAVAILABLE');
    expect((await failure(client.code2Session(APP_ONE, 'code-1'), clock)).code).toBe('WX_CODE_USED');
  });

  it('does not retry errors that are not WeChat failures, and lets them through untouched', async () => {
    const { client, clock, code2Session, answer } = setup();
    const bug = new TypeError('boom');
    answer(bug);

    const outcome = await settle(client.code2Session(APP_ONE, 'code-1'), clock);

    expect(outcome).toEqual({ ok: false, error: bug });
    expect(code2Session).toHaveBeenCalledTimes(1);
  });
});

describe('ResilientWechatClient: backoff', () => {
  it('sleeps a capped exponential backoff scaled by the random fraction between attempts', async () => {
    const { client, clock, code2Session, attempts, answer, fraction, sleep } = setup({
      maxRetries: 6,
      loginDeadlineMs: 20_000,
      breakerThreshold: 10,
    });
    fraction.mockReturnValue(0.5);
    answer(network(), network(), network(), network(), network(), network(), SESSION);

    const outcome = await settle(client.code2Session(APP_ONE, 'code-1'), clock);

    expect(outcome.ok).toBe(true);
    expect(code2Session).toHaveBeenCalledTimes(7);
    // Windows 100, 200, 400, 800, 1000 (cap), 1000, halved by the jitter.
    expect(backoffs(sleep)).toEqual([50, 100, 200, 400, 500, 500]);
    // Each retry starts exactly after its backoff.
    expect(attempts.map((a) => a.at - START)).toEqual([0, 50, 150, 350, 750, 1250, 1750]);
  });

  it('never sleeps a whole window or more (full jitter below the cap)', async () => {
    const { client, clock, answer, fraction, sleep } = setup({
      maxRetries: 5,
      loginDeadlineMs: 20_000,
      breakerThreshold: 10,
    });
    fraction.mockReturnValue(0.9999);
    answer(network(), network(), network(), network(), network(), SESSION);

    expect(await settle(client.code2Session(APP_ONE, 'code-1'), clock)).toEqual({ ok: true, value: SESSION });

    expect(backoffs(sleep)).toEqual([99, 199, 399, 799, 999]);
  });

  it('follows the random source call by call', async () => {
    const { client, clock, answer, fraction, sleep } = setup({ maxRetries: 2 });
    fraction.mockReturnValueOnce(0).mockReturnValueOnce(0.25);
    answer(errcode(-1), errcode(-1), SESSION);

    expect(await settle(client.code2Session(APP_ONE, 'code-1'), clock)).toEqual({ ok: true, value: SESSION });

    expect(backoffs(sleep)).toEqual([0, 50]);
  });
});

describe('ResilientWechatClient: login deadline', () => {
  it('stops retrying when the deadline leaves no room; every attempt fits in what is left', async () => {
    const { client, clock, code2Session, attempts, answer, slowTimeout } = setup({
      loginDeadlineMs: 3000,
      timeoutMs: 2000,
      maxRetries: 5,
    });
    answer(slowTimeout(), slowTimeout(), slowTimeout());

    const e = await failure(client.code2Session(APP_ONE, 'code-1'), clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    // 0–2000 first attempt, 50 ms backoff, then only 950 ms left for the second; no room for a third.
    expect(code2Session).toHaveBeenCalledTimes(2);
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
      const { client, clock, code2Session, attempts, answer, slowTimeout } = setup({
        loginDeadlineMs: deadlineMs,
        timeoutMs: 2000,
        maxRetries: 5,
      });
      answer(slowTimeout(), slowTimeout());

      await failure(client.code2Session(APP_ONE, 'code-1'), clock);

      expect(code2Session).toHaveBeenCalledTimes(calls);
      for (const a of attempts) {
        const left = START + deadlineMs - a.at;
        expect(left).toBeGreaterThanOrEqual(200);
        expect(a.timeoutMs).toBeLessThanOrEqual(left);
      }
    },
  );

  it('stops before a retry whose backoff alone would run past the deadline', async () => {
    const { client, clock, code2Session, answer, fraction, sleep } = setup({
      loginDeadlineMs: 1000,
      maxRetries: 10,
    });
    fraction.mockReturnValue(0.9999);
    // Instant failures: 99 + 199 + 399 = 697 ms of backoff; 697 + 799 + 200 would pass the deadline.
    answer(network(), network(), network(), network(), network(), network());

    const e = await failure(client.code2Session(APP_ONE, 'code-1'), clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(backoffs(sleep)).toEqual([99, 199, 399]);
    expect(code2Session).toHaveBeenCalledTimes(4);
  });
});

describe('ResilientWechatClient: circuit breaker', () => {
  async function openBreaker(s: ReturnType<typeof setup>, threshold: number) {
    for (let i = 0; i < threshold; i++) {
      s.answer(network());
      await failure(s.client.code2Session(APP_ONE, `code-${i}`), s.clock);
    }
  }

  it('opens after the threshold of consecutive upstream failures: the next call fails fast without calling WeChat', async () => {
    const s = setup({ maxRetries: 0, breakerThreshold: 3, breakerCooldownMs: 30_000 });
    await openBreaker(s, 3);
    expect(s.code2Session).toHaveBeenCalledTimes(3);
    expect(s.client.breaker(APP_ONE.appid).current).toBe('open');

    const e = await failure(s.client.code2Session(APP_ONE, 'code-x'), s.clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(e.getStatus()).toBe(503);
    expect(e.extras.retryAfter).toBe(30);
    expect(s.code2Session).toHaveBeenCalledTimes(3);
  });

  it("counts a call's retries towards the threshold and stops retrying once it opens", async () => {
    const { client, clock, code2Session, answer } = setup({ maxRetries: 5, breakerThreshold: 2 });
    answer(timeout(), timeout(), SESSION);

    const e = await failure(client.code2Session(APP_ONE, 'code-1'), clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(code2Session).toHaveBeenCalledTimes(2);
    expect(client.breaker(APP_ONE.appid).current).toBe('open');
  });

  it('after the cooldown lets one probe through; its success closes the circuit', async () => {
    const s = setup({ maxRetries: 0, breakerThreshold: 3, breakerCooldownMs: 30_000 });
    await openBreaker(s, 3);

    s.clock.advance(29_000);
    expect((await failure(s.client.code2Session(APP_ONE, 'code-a'), s.clock)).code).toBe('WX_UNAVAILABLE');
    expect(s.code2Session).toHaveBeenCalledTimes(3);

    s.clock.advance(1000);
    s.answer(SESSION, SESSION);
    expect(await settle(s.client.code2Session(APP_ONE, 'code-b'), s.clock)).toEqual({
      ok: true,
      value: SESSION,
    });
    expect(s.client.breaker(APP_ONE.appid).current).toBe('closed');
    expect(await settle(s.client.code2Session(APP_ONE, 'code-c'), s.clock)).toEqual({
      ok: true,
      value: SESSION,
    });
    expect(s.code2Session).toHaveBeenCalledTimes(5);
  });

  it('while the probe is out, other calls fail fast without calling WeChat', async () => {
    const s = setup({ maxRetries: 0, breakerThreshold: 3, breakerCooldownMs: 30_000 });
    await openBreaker(s, 3);
    s.clock.advance(30_000);
    const probeAnswer = deferred<Code2SessionResult>();
    s.answer(() => probeAnswer.promise);

    const probe = s.client.code2Session(APP_ONE, 'code-probe');
    await flush();
    const other = await failure(s.client.code2Session(APP_ONE, 'code-other'), s.clock);

    expect(other.code).toBe('WX_UNAVAILABLE');
    expect(s.code2Session).toHaveBeenCalledTimes(4);
    probeAnswer.resolve(SESSION);
    await expect(probe).resolves.toBe(SESSION);
  });

  it('a failed probe reopens the circuit for a full cooldown', async () => {
    const s = setup({ maxRetries: 0, breakerThreshold: 3, breakerCooldownMs: 30_000 });
    await openBreaker(s, 3);
    s.clock.advance(30_000);
    s.answer(network());

    await failure(s.client.code2Session(APP_ONE, 'code-probe'), s.clock);
    const e = await failure(s.client.code2Session(APP_ONE, 'code-next'), s.clock);

    expect(e.extras.retryAfter).toBe(30);
    expect(s.code2Session).toHaveBeenCalledTimes(4);
  });

  it('business errcodes (40029) do not open it: WeChat answered', async () => {
    const { client, clock, code2Session, answer } = setup({ maxRetries: 0, breakerThreshold: 3 });
    for (let i = 0; i < 5; i++) {
      answer(errcode(40029));
      expect((await failure(client.code2Session(APP_ONE, `code-${i}`), clock)).code).toBe('WX_CODE_INVALID');
    }

    expect(code2Session).toHaveBeenCalledTimes(5);
    expect(client.breaker(APP_ONE.appid).current).toBe('closed');
  });

  it('a business errcode between failures resets the count of consecutive failures', async () => {
    const { client, clock, code2Session, answer } = setup({ maxRetries: 0, breakerThreshold: 3 });
    answer(network(), network(), errcode(40029), network(), network(), SESSION);
    for (let i = 0; i < 5; i++) await failure(client.code2Session(APP_ONE, `code-${i}`), clock);

    expect(client.breaker(APP_ONE.appid).current).toBe('closed');
    expect(await settle(client.code2Session(APP_ONE, 'code-5'), clock)).toEqual({ ok: true, value: SESSION });
    expect(code2Session).toHaveBeenCalledTimes(6);
  });

  it('is per appid: another app still reaches WeChat', async () => {
    const s = setup({ maxRetries: 0, breakerThreshold: 3 });
    await openBreaker(s, 3);
    s.answer(SESSION);

    expect(await settle(s.client.code2Session(APP_TWO, 'code-2'), s.clock)).toEqual({
      ok: true,
      value: SESSION,
    });
    expect(s.code2Session).toHaveBeenCalledTimes(4);
    expect(s.attempts[3].appid).toBe(APP_TWO.appid);
  });
});

describe('ResilientWechatClient: minute quota (45011)', () => {
  it('answers WX_RATE_LIMITED with the seconds to the next minute and refuses that appid without calling WeChat until then', async () => {
    const { client, clock, code2Session, answer } = setup();
    answer(errcode(45011));

    const first = await failure(client.code2Session(APP_ONE, 'code-1'), clock);
    expect(first.code).toBe('WX_RATE_LIMITED');
    expect(first.extras.retryAfter).toBe(15);
    expect(code2Session).toHaveBeenCalledTimes(1);

    clock.advance(10_000);
    const blocked = await failure(client.code2Session(APP_ONE, 'code-2'), clock);
    expect(blocked.code).toBe('WX_RATE_LIMITED');
    expect(blocked.getStatus()).toBe(429);
    expect(blocked.extras.retryAfter).toBe(5);
    expect(code2Session).toHaveBeenCalledTimes(1);

    // 12:01:00: a new quota minute.
    clock.advance(5000);
    answer(SESSION);
    expect(await settle(client.code2Session(APP_ONE, 'code-3'), clock)).toEqual({ ok: true, value: SESSION });
    expect(code2Session).toHaveBeenCalledTimes(2);
  });

  it('does not block other appids', async () => {
    const { client, clock, code2Session, attempts, answer } = setup();
    answer(errcode(45011), SESSION);

    await failure(client.code2Session(APP_ONE, 'code-1'), clock);
    const outcome = await settle(client.code2Session(APP_TWO, 'code-2'), clock);

    expect(outcome).toEqual({ ok: true, value: SESSION });
    expect(code2Session).toHaveBeenCalledTimes(2);
    expect(attempts[1].appid).toBe(APP_TWO.appid);
  });

  it('shares the block through the store with other instances', async () => {
    const s = setup();
    s.answer(errcode(45011));
    await failure(s.client.code2Session(APP_ONE, 'code-1'), s.clock);
    const wechatB = { code2Session: jest.fn() };
    const instanceB = new ResilientWechatClient(
      wechatB as unknown as WechatApiClient,
      { wechat: { ...DEFAULTS } } as unknown as AppConfig,
      s.clock,
      { fraction: () => 0.5 } as unknown as Random,
      s.store,
    );

    const e = await failure(instanceB.code2Session(APP_ONE, 'code-2'), s.clock);

    expect(e.code).toBe('WX_RATE_LIMITED');
    expect(wechatB.code2Session).not.toHaveBeenCalled();
  });

  // The quota resets at the wall-clock minute; the block must not outlast it when the 45011 came mid-second.
  it('lifts the block exactly when the minute turns, even when 45011 arrived mid-second', async () => {
    const { client, clock, code2Session, answer } = setup({}, Date.UTC(2026, 0, 1, 12, 0, 45, 300));
    answer(errcode(45011), SESSION);
    await failure(client.code2Session(APP_ONE, 'code-1'), clock);

    clock.advance(14_700); // 12:01:00.000
    const outcome = await settle(client.code2Session(APP_ONE, 'code-2'), clock);

    expect(outcome).toEqual({ ok: true, value: SESSION });
    expect(code2Session).toHaveBeenCalledTimes(2);
  });
});

describe('ResilientWechatClient: misconfiguration alert', () => {
  const alerts = () => errorLog.mock.calls.filter(([payload]) => payload?.alert === 'WECHAT_MISCONFIGURED');

  it('alerts once per appid, again after a success followed by a new failure', async () => {
    const { client, clock, code2Session, answer } = setup();
    answer(errcode(40013), errcode(40125), errcode(40013));

    for (let i = 0; i < 3; i++) {
      expect((await failure(client.code2Session(APP_ONE, `code-${i}`), clock)).code).toBe('WX_MISCONFIGURED');
    }
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0][0]).toEqual({ alert: 'WECHAT_MISCONFIGURED', appid: APP_ONE.appid, errcode: 40013 });
    expect(JSON.stringify(errorLog.mock.calls)).not.toContain(APP_ONE.secret);

    answer(SESSION, errcode(40125));
    await settle(client.code2Session(APP_ONE, 'code-ok'), clock);
    await failure(client.code2Session(APP_ONE, 'code-bad'), clock);

    expect(alerts()).toHaveLength(2);
    expect(alerts()[1][0]).toMatchObject({ appid: APP_ONE.appid, errcode: 40125 });
    expect(code2Session).toHaveBeenCalledTimes(5);
  });

  it('alerts separately for each appid', async () => {
    const { client, clock, answer } = setup();
    answer(errcode(40125), errcode(40125));

    await failure(client.code2Session(APP_ONE, 'code-1'), clock);
    await failure(client.code2Session(APP_TWO, 'code-2'), clock);

    expect(alerts().map(([payload]) => payload.appid)).toEqual([APP_ONE.appid, APP_TWO.appid]);
  });

  it('a business error (40029) is not a success that re-arms the alert', async () => {
    const { client, clock, answer } = setup();
    answer(errcode(40013), errcode(40029), errcode(40013));

    for (let i = 0; i < 3; i++) await failure(client.code2Session(APP_ONE, `code-${i}`), clock);

    expect(alerts()).toHaveLength(1);
  });

  it('does not alert for other failures', async () => {
    const { client, clock, answer } = setup({ maxRetries: 0 });
    answer(errcode(40029), errcode(45011), network());

    await failure(client.code2Session(APP_ONE, 'code-1'), clock);
    await failure(client.code2Session(APP_ONE, 'code-2'), clock);
    clock.advance(60_000);
    await failure(client.code2Session(APP_ONE, 'code-3'), clock);

    expect(errorLog).not.toHaveBeenCalled();
  });
});

describe('ResilientWechatClient: concurrency cap', () => {
  function saturated() {
    const s = setup({ maxConcurrency: 2, maxQueue: 1, loginDeadlineMs: 5000 });
    const first = deferred<Code2SessionResult>();
    const second = deferred<Code2SessionResult>();
    s.answer(
      () => first.promise,
      () => second.promise,
    );
    const a = s.client.code2Session(APP_ONE, 'code-a');
    const b = s.client.code2Session(APP_ONE, 'code-b');
    return { ...s, first, second, a, b };
  }

  it('queues the third call and sheds the fourth with WX_UNAVAILABLE without calling WeChat', async () => {
    const { client, clock, code2Session, answer, first, second, a, b } = saturated();
    answer(SESSION);
    await flush();
    expect(code2Session).toHaveBeenCalledTimes(2);

    let thirdDone = false;
    const c = client.code2Session(APP_ONE, 'code-c');
    void c.then(() => (thirdDone = true));
    await flush();
    const shed = await failure(client.code2Session(APP_TWO, 'code-d'), clock);

    expect(shed.code).toBe('WX_UNAVAILABLE');
    expect(shed.getStatus()).toBe(503);
    expect(shed.extras.retryAfter).toBe(2);
    expect(thirdDone).toBe(false);
    expect(code2Session).toHaveBeenCalledTimes(2);

    // A slot frees (even by a failure): the waiter proceeds.
    first.reject(errcode(40029));
    await expect(a).rejects.toMatchObject({ code: 'WX_CODE_INVALID' });
    await expect(c).resolves.toBe(SESSION);
    expect(code2Session).toHaveBeenCalledTimes(3);

    second.resolve(SESSION);
    await expect(b).resolves.toBe(SESSION);
  });

  it('a waiter still queued when no attempt fits any more (200 ms before the deadline) gets WX_UNAVAILABLE without calling WeChat', async () => {
    const { client, clock, code2Session, first, second, a, b } = saturated();
    await flush();
    const c = client.code2Session(APP_ONE, 'code-c');

    const e = await failure(c, clock);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(clock.now() - START).toBe(5000 - 200);
    expect(code2Session).toHaveBeenCalledTimes(2);
    first.resolve(SESSION);
    second.resolve(SESSION);
    await Promise.all([a, b]);
  });

  // A waiter let in just before its deadline has no time for a useful attempt (the retry loop's 200 ms rule).
  it('a waiter let in with less than 200 ms left does not start an attempt', async () => {
    const { client, clock, code2Session, attempts, answer, first, second, a, b } = saturated();
    answer(SESSION);
    await flush();
    const c = client.code2Session(APP_ONE, 'code-c');
    await flush();

    clock.advance(4900);
    first.resolve(SESSION);
    await a;
    const outcome = await settle(c, clock);

    expect(attempts.slice(2)).toEqual([]);
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: AppException }).error.code).toBe('WX_UNAVAILABLE');
    expect(code2Session).toHaveBeenCalledTimes(2);
    second.resolve(SESSION);
    await b;
  });
});
