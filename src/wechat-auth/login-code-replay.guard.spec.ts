import { FakeClock } from '../common/clock/fake-clock';
import { AppException } from '../common/errors/app.exception';
import type { ErrorCode } from '../common/errors/error-codes';
import { MemoryKvStore } from '../common/store/memory-kv-store';
import type { AppConfig } from '../config/app-config';
import { deferred, flush, type Outcome, track } from '../testing/async';
import { LoginCodeReplayGuard } from './login-code-replay.guard';

const APPID = 'wxapp_one';
const DEADLINE_MS = 5000;
const RESULT = { openid: 'openid-1', sessionKey: 'k' };

function codeOf(outcome: Outcome<unknown>): ErrorCode | undefined {
  if (outcome.state !== 'rejected') return undefined;
  expect(outcome.error).toBeInstanceOf(AppException);
  return (outcome.error as AppException).code;
}

function setup() {
  const clock = new FakeClock();
  const store = new MemoryKvStore(clock);
  const config = { wechat: { loginDeadlineMs: DEADLINE_MS } } as unknown as AppConfig;
  const newGuard = () => new LoginCodeReplayGuard(store, clock, config);
  return { clock, store, guard: newGuard(), newGuard };
}

describe('LoginCodeReplayGuard (one instance)', () => {
  it('runs the exchange once for 20 concurrent requests: one gets the result, 19 get WX_CODE_USED', async () => {
    const { guard } = setup();
    const answer = deferred<typeof RESULT>();
    const exchange = jest.fn(() => answer.promise);

    const calls = Array.from({ length: 20 }, () => guard.exchangeOnce(APPID, 'code-1', exchange));
    await flush();
    answer.resolve(RESULT);
    const outcomes = await Promise.allSettled(calls);

    expect(exchange).toHaveBeenCalledTimes(1);
    const fulfilled = outcomes.filter((o) => o.status === 'fulfilled');
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(fulfilled).toEqual([{ status: 'fulfilled', value: RESULT }]);
    expect(rejected).toHaveLength(19);
    for (const r of rejected) {
      expect(r.reason).toBeInstanceOf(AppException);
      expect((r.reason as AppException).code).toBe('WX_CODE_USED');
    }
  });

  it('answers WX_CODE_USED for a code already exchanged, without running the exchange, for 5 minutes', async () => {
    const { guard, clock } = setup();
    const exchange = jest.fn(() => Promise.resolve(RESULT));
    await expect(guard.exchangeOnce(APPID, 'code-1', exchange)).resolves.toBe(RESULT);

    clock.advance(5 * 60 * 1000 - 1);
    await expect(guard.exchangeOnce(APPID, 'code-1', exchange)).rejects.toMatchObject({
      code: 'WX_CODE_USED',
    });
    expect(exchange).toHaveBeenCalledTimes(1);

    // By now WeChat itself has expired the code; the marker need not outlive it.
    clock.advance(1);
    await expect(guard.exchangeOnce(APPID, 'code-1', exchange)).resolves.toBe(RESULT);
    expect(exchange).toHaveBeenCalledTimes(2);
  });

  it('shares a final error (WX_CODE_INVALID) with concurrent callers and remembers it', async () => {
    const { guard } = setup();
    const answer = deferred<typeof RESULT>();
    const exchange = jest.fn(() => answer.promise);
    const invalid = new AppException('WX_CODE_INVALID');

    const calls = Array.from({ length: 5 }, () => track(guard.exchangeOnce(APPID, 'code-1', exchange)));
    await flush();
    answer.reject(invalid);
    await flush();

    expect(calls.map(codeOf)).toEqual(Array(5).fill('WX_CODE_INVALID'));
    expect((calls[0] as { error: unknown }).error).toBe(invalid);

    const later = track(guard.exchangeOnce(APPID, 'code-1', exchange));
    await flush();
    expect(codeOf(later)).toBe('WX_CODE_INVALID');
    expect(exchange).toHaveBeenCalledTimes(1);
  });

  it.each(['WX_CODE_USED', 'WX_USER_BLOCKED', 'WX_RETRY_LOGIN'] as const)(
    'remembers the final error %s for later calls',
    async (code) => {
      const { guard } = setup();
      const exchange = jest.fn(() => Promise.reject(new AppException(code)));

      await expect(guard.exchangeOnce(APPID, 'code-1', exchange)).rejects.toMatchObject({ code });
      await expect(guard.exchangeOnce(APPID, 'code-1', exchange)).rejects.toMatchObject({ code });

      expect(exchange).toHaveBeenCalledTimes(1);
    },
  );

  it('shares a transient error (WX_UNAVAILABLE) with concurrent callers, but a later call runs the exchange again', async () => {
    const { guard } = setup();
    const answer = deferred<typeof RESULT>();
    const exchange = jest.fn(() => answer.promise);

    const calls = Array.from({ length: 5 }, () => track(guard.exchangeOnce(APPID, 'code-1', exchange)));
    await flush();
    answer.reject(new AppException('WX_UNAVAILABLE', { retryAfter: 5 }));
    await flush();

    expect(calls.map(codeOf)).toEqual(Array(5).fill('WX_UNAVAILABLE'));
    expect(exchange).toHaveBeenCalledTimes(1);

    exchange.mockImplementation(() => Promise.resolve(RESULT));
    await expect(guard.exchangeOnce(APPID, 'code-1', exchange)).resolves.toBe(RESULT);
    expect(exchange).toHaveBeenCalledTimes(2);
  });

  it.each<[string, unknown]>([
    ['WX_RATE_LIMITED', new AppException('WX_RATE_LIMITED', { retryAfter: 10 })],
    ['WX_MISCONFIGURED', new AppException('WX_MISCONFIGURED', { retryAfter: 60 })],
    ['an unexpected error', new TypeError('boom')],
  ])('releases the code after %s so it can be tried again', async (_label, error) => {
    const { guard } = setup();
    const exchange = jest.fn((): Promise<typeof RESULT> => Promise.reject(error));

    await expect(guard.exchangeOnce(APPID, 'code-1', exchange)).rejects.toBe(error);
    exchange.mockImplementation(() => Promise.resolve(RESULT));
    await expect(guard.exchangeOnce(APPID, 'code-1', exchange)).resolves.toBe(RESULT);

    expect(exchange).toHaveBeenCalledTimes(2);
  });

  it('keeps different appids with the same code independent', async () => {
    const { guard } = setup();
    const exchange = jest.fn(() => Promise.resolve(RESULT));

    const [one, two] = await Promise.all([
      guard.exchangeOnce('wxapp_one', 'same-code', exchange),
      guard.exchangeOnce('wxapp_two', 'same-code', exchange),
    ]);

    expect(one).toBe(RESULT);
    expect(two).toBe(RESULT);
    expect(exchange).toHaveBeenCalledTimes(2);
  });

  it('keeps different codes of one app independent', async () => {
    const { guard } = setup();
    const exchange = jest.fn(() => Promise.resolve(RESULT));

    await guard.exchangeOnce(APPID, 'code-1', exchange);
    await guard.exchangeOnce(APPID, 'code-2', exchange);

    expect(exchange).toHaveBeenCalledTimes(2);
  });
});

describe('LoginCodeReplayGuard (two instances sharing one store)', () => {
  it("B waits while A's exchange is pending, then gets WX_CODE_USED once A succeeds; the exchange ran once", async () => {
    const { clock, guard: a, newGuard } = setup();
    const b = newGuard();
    const answer = deferred<typeof RESULT>();
    const exchange = jest.fn(() => answer.promise);

    const first = track(a.exchangeOnce(APPID, 'code-1', exchange));
    await flush();
    const second = track(b.exchangeOnce(APPID, 'code-1', exchange));
    for (let i = 0; i < 10; i++) {
      await flush();
      clock.advance(50);
    }
    await flush();
    expect(second.state).toBe('pending');

    answer.resolve(RESULT);
    await flush();
    expect(first).toEqual({ state: 'fulfilled', value: RESULT });
    expect(second.state).toBe('pending'); // B only learns of it at its next poll
    clock.advance(50);
    await flush();

    expect(codeOf(second)).toBe('WX_CODE_USED');
    expect(exchange).toHaveBeenCalledTimes(1);
  });

  it("B gets A's final error", async () => {
    const { clock, guard: a, newGuard } = setup();
    const b = newGuard();
    const answer = deferred<typeof RESULT>();
    const exchange = jest.fn(() => answer.promise);

    const first = track(a.exchangeOnce(APPID, 'code-1', exchange));
    await flush();
    const second = track(b.exchangeOnce(APPID, 'code-1', exchange));
    await flush();
    answer.reject(new AppException('WX_CODE_INVALID'));
    await flush();
    clock.advance(50);
    await flush();

    expect(codeOf(first)).toBe('WX_CODE_INVALID');
    expect(codeOf(second)).toBe('WX_CODE_INVALID');
    expect(exchange).toHaveBeenCalledTimes(1);
  });

  it('B takes over with its own exchange after A fails transiently', async () => {
    const { clock, guard: a, newGuard } = setup();
    const b = newGuard();
    const answer = deferred<typeof RESULT>();
    const exchangeA = jest.fn(() => answer.promise);
    const exchangeB = jest.fn(() => Promise.resolve(RESULT));

    const first = track(a.exchangeOnce(APPID, 'code-1', exchangeA));
    await flush();
    const second = track(b.exchangeOnce(APPID, 'code-1', exchangeB));
    await flush();
    answer.reject(new AppException('WX_UNAVAILABLE'));
    await flush();
    clock.advance(50);
    await flush();

    expect(codeOf(first)).toBe('WX_UNAVAILABLE');
    expect(second).toEqual({ state: 'fulfilled', value: RESULT });
    expect(exchangeA).toHaveBeenCalledTimes(1);
    expect(exchangeB).toHaveBeenCalledTimes(1);
  });

  it("B gives up with WX_UNAVAILABLE at its deadline when A's holder never finishes", async () => {
    const { clock, guard: a, newGuard } = setup();
    const b = newGuard();
    const exchange = jest.fn(() => new Promise<typeof RESULT>(() => undefined));

    void a.exchangeOnce(APPID, 'code-1', exchange);
    await flush();
    const start = clock.now();
    const second = track(b.exchangeOnce(APPID, 'code-1', exchange));
    while (clock.now() - start < DEADLINE_MS - 50) {
      await flush();
      clock.advance(50);
    }
    await flush();
    expect(second.state).toBe('pending');

    clock.advance(50);
    await flush();

    expect(clock.now() - start).toBe(DEADLINE_MS);
    expect(codeOf(second)).toBe('WX_UNAVAILABLE');
    expect((second as { error: AppException }).error.extras.retryAfter).toBe(1);
    expect(exchange).toHaveBeenCalledTimes(1);
  });
});
