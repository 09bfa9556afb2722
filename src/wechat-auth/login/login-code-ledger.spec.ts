import { Logger } from '@nestjs/common';
import { FakeClock } from '../../common/clock/fake-clock';
import { SecretBox } from '../../common/crypto/secret-box';
import { AppException } from '../../common/errors/app.exception';
import type { ErrorCode } from '../../common/errors/error-codes';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import { StoreUnavailableError } from '../../common/store/store-unavailable.error';
import { deferred, flush, type Outcome, track } from '../../testing/async';
import { Deadline } from '../upstream/deadline';
import type { Code2SessionResult } from './code2session.endpoint';
import { CODE_LIFETIME_MS, loginCodeHash } from './login-code';
import { LoginCodeLedger } from './login-code-ledger';

const APPID = 'wxapp_one';
const DEADLINE_MS = 5000;
const RESULT: Code2SessionResult = { openid: 'openid-secret-1', sessionKey: 'c2Vzc2lvbktleURvTm90TG9n' };
/** What a completed login hands back (the service's user and tokens). */
const LOGGED_IN = { user: 'user-1' };
const claimKey = (code: string, appid = APPID) => `wx:code:{${loginCodeHash(appid, code)}}`;

function codeOf(outcome: Outcome<unknown>): ErrorCode | undefined {
  if (outcome.state !== 'rejected') return undefined;
  expect(outcome.error).toBeInstanceOf(AppException);
  return (outcome.error as AppException).code;
}

function setup() {
  const clock = new FakeClock();
  const store = new MemoryKvStore(clock);
  const box = new SecretBox(Buffer.alloc(32, 7));
  const newLedger = () => new LoginCodeLedger(store, clock, box);
  const ledger = newLedger();
  const complete = jest.fn((session: Code2SessionResult) => Promise.resolve({ ...LOGGED_IN, session }));
  /** One login's exchangeOnce with a fresh deadline and the shared completion. */
  const run = (
    exchange: () => Promise<Code2SessionResult>,
    opts: { code?: string; appid?: string; on?: LoginCodeLedger; deadlineMs?: number } = {},
  ) =>
    (opts.on ?? ledger).exchangeOnce(
      opts.appid ?? APPID,
      opts.code ?? 'code-1',
      Deadline.after(clock, opts.deadlineMs ?? DEADLINE_MS),
      exchange,
      complete,
    );
  /** A's login claims the code and runs `exchangeA`; then B asks on another instance with `exchangeB`. */
  const startOnTwo = async (
    exchangeA: () => Promise<Code2SessionResult>,
    exchangeB: () => Promise<Code2SessionResult> = exchangeA,
  ) => {
    const first = track(run(exchangeA));
    await flush();
    const second = track(run(exchangeB, { on: newLedger() }));
    return { first, second };
  };
  /** Pending work runs, then one of B's 50 ms polls. */
  const nextPoll = async () => {
    await flush();
    clock.advance(50);
    await flush();
  };
  /** A's exchange fails with `error` while B (exchanging with `exchangeB`) waits; then B's next poll. */
  const aFailsWhileBWaits = async (
    error: AppException,
    exchangeB?: () => Promise<Code2SessionResult>,
  ) => {
    const answer = deferred<Code2SessionResult>();
    const exchangeA = jest.fn(() => answer.promise);
    const { first, second } = await startOnTwo(exchangeA, exchangeB);
    await flush();
    answer.reject(error);
    await nextPoll();
    return { first, second, exchangeA };
  };
  return { clock, store, box, ledger, newLedger, complete, run, startOnTwo, nextPoll, aFailsWhileBWaits };
}

beforeEach(() => {
  jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('LoginCodeLedger (one instance)', () => {
  it('runs the exchange once for 20 concurrent requests: one completes, 19 get WX_CODE_USED', async () => {
    const { run, complete } = setup();
    const answer = deferred<Code2SessionResult>();
    const exchange = jest.fn(() => answer.promise);

    const calls = Array.from({ length: 20 }, () => run(exchange));
    await flush();
    answer.resolve(RESULT);
    const outcomes = await Promise.allSettled(calls);

    expect(exchange).toHaveBeenCalledTimes(1);
    expect(complete).toHaveBeenCalledTimes(1);
    expect(complete).toHaveBeenCalledWith(RESULT);
    const fulfilled = outcomes.filter((o) => o.status === 'fulfilled');
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(fulfilled).toEqual([{ status: 'fulfilled', value: { ...LOGGED_IN, session: RESULT } }]);
    expect(rejected).toHaveLength(19);
    for (const r of rejected) {
      expect(r.reason).toBeInstanceOf(AppException);
      expect((r.reason as AppException).code).toBe('WX_CODE_USED');
    }
  });

  it('answers WX_CODE_USED for a code already exchanged, without running the exchange, for 5 minutes', async () => {
    const { run, clock } = setup();
    const exchange = jest.fn(() => Promise.resolve(RESULT));
    await expect(run(exchange)).resolves.toEqual({ ...LOGGED_IN, session: RESULT });

    clock.advance(CODE_LIFETIME_MS - 1);
    await expect(run(exchange)).rejects.toMatchObject({ code: 'WX_CODE_USED' });
    expect(exchange).toHaveBeenCalledTimes(1);

    // By now WeChat itself has expired the code; the marker need not outlive it.
    clock.advance(1);
    await expect(run(exchange)).resolves.toEqual({ ...LOGGED_IN, session: RESULT });
    expect(exchange).toHaveBeenCalledTimes(2);
  });

  it('shares a final error (WX_CODE_INVALID) with concurrent callers and remembers it', async () => {
    const { run, complete } = setup();
    const answer = deferred<Code2SessionResult>();
    const exchange = jest.fn(() => answer.promise);
    const invalid = new AppException('WX_CODE_INVALID');

    const calls = Array.from({ length: 5 }, () => track(run(exchange)));
    await flush();
    answer.reject(invalid);
    await flush();

    expect(calls.map(codeOf)).toEqual(Array(5).fill('WX_CODE_INVALID'));
    expect((calls[0] as { error: unknown }).error).toBe(invalid);

    const later = track(run(exchange));
    await flush();
    expect(codeOf(later)).toBe('WX_CODE_INVALID');
    expect(exchange).toHaveBeenCalledTimes(1);
    expect(complete).not.toHaveBeenCalled();
  });

  it("a concurrent duplicate gets the leader's error with its status and Retry-After", async () => {
    const { run } = setup();
    const answer = deferred<Code2SessionResult>();
    const exchange = jest.fn(() => answer.promise);

    const leader = track(run(exchange));
    const follower = track(run(exchange));
    await flush();
    answer.reject(new AppException('WX_CODE_INVALID', { status: 400 }));
    await flush();

    expect(codeOf(leader)).toBe('WX_CODE_INVALID');
    const error = (follower as { error: AppException }).error;
    expect(error.code).toBe('WX_CODE_INVALID');
    expect(error.getStatus()).toBe(400);
  });

  it.each(['WX_CODE_USED', 'WX_USER_BLOCKED', 'WX_RETRY_LOGIN'] as const)(
    'remembers the final error %s for later calls',
    async (code) => {
      const { run } = setup();
      const exchange = jest.fn(() => Promise.reject(new AppException(code)));

      await expect(run(exchange)).rejects.toMatchObject({ code });
      const again = await run(exchange).catch((e: unknown) => e);
      expect(again).toMatchObject({ code });
      if (code === 'WX_RETRY_LOGIN') expect((again as AppException).extras.retryAfter).toBe(1);

      expect(exchange).toHaveBeenCalledTimes(1);
    },
  );

  it('shares a transient error (WX_UNAVAILABLE) with concurrent callers, but a later call runs the exchange again', async () => {
    const { run } = setup();
    const answer = deferred<Code2SessionResult>();
    const exchange = jest.fn(() => answer.promise);

    const calls = Array.from({ length: 5 }, () => track(run(exchange)));
    await flush();
    answer.reject(new AppException('WX_UNAVAILABLE', { retryAfter: 5 }));
    await flush();

    expect(calls.map(codeOf)).toEqual(Array(5).fill('WX_UNAVAILABLE'));
    expect(exchange).toHaveBeenCalledTimes(1);

    exchange.mockImplementation(() => Promise.resolve(RESULT));
    await expect(run(exchange)).resolves.toEqual({ ...LOGGED_IN, session: RESULT });
    expect(exchange).toHaveBeenCalledTimes(2);
  });

  it.each<[string, unknown]>([
    ['WX_RATE_LIMITED', new AppException('WX_RATE_LIMITED', { retryAfter: 10 })],
    ['WX_MISCONFIGURED', new AppException('WX_MISCONFIGURED', { retryAfter: 60 })],
    ['an unexpected error', new TypeError('boom')],
  ])('releases the code after %s so it can be tried again', async (_label, error) => {
    const { run } = setup();
    const exchange = jest.fn((): Promise<Code2SessionResult> => Promise.reject(error));

    await expect(run(exchange)).rejects.toBe(error);
    exchange.mockImplementation(() => Promise.resolve(RESULT));
    await expect(run(exchange)).resolves.toEqual({ ...LOGGED_IN, session: RESULT });

    expect(exchange).toHaveBeenCalledTimes(2);
  });

  it('keeps different appids with the same code independent', async () => {
    const { run } = setup();
    const exchange = jest.fn(() => Promise.resolve(RESULT));

    await Promise.all([
      run(exchange, { appid: 'wxapp_one', code: 'same-code' }),
      run(exchange, { appid: 'wxapp_two', code: 'same-code' }),
    ]);

    expect(exchange).toHaveBeenCalledTimes(2);
  });

  it('keeps different codes of one app independent', async () => {
    const { run } = setup();
    const exchange = jest.fn(() => Promise.resolve(RESULT));

    await run(exchange, { code: 'code-1' });
    await run(exchange, { code: 'code-2' });

    expect(exchange).toHaveBeenCalledTimes(2);
  });

  it('names the code in the store only by its hash', async () => {
    const { run, store } = setup();
    const set = jest.spyOn(store, 'set');
    const setIfAbsent = jest.spyOn(store, 'setIfAbsent');

    await run(() => Promise.resolve(RESULT), { code: 'RAWCODE-visible' });

    const keys = [...set.mock.calls, ...setIfAbsent.mock.calls].map(([key]) => key);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).not.toContain('RAWCODE-visible');
  });
});

describe('LoginCodeLedger: a login whose completion fails after WeChat answered', () => {
  const dbDown = () => new AppException('DATABASE_UNAVAILABLE');
  /** The store refuses to keep WeChat's answer (with `error()`); every other write goes through. */
  const answerNotKept = (store: MemoryKvStore, error: () => Error) => {
    const set = store.set.bind(store);
    jest
      .spyOn(store, 'set')
      .mockImplementation((key, value, ttl) =>
        key.endsWith(':answer') ? Promise.reject(error()) : set(key, value, ttl),
      );
  };

  it("keeps WeChat's answer: the retry with the same code completes without calling WeChat, then the code is used", async () => {
    const { run, complete, store } = setup();
    const exchange = jest.fn(() => Promise.resolve(RESULT));
    const down = dbDown();
    complete.mockRejectedValueOnce(down);

    await expect(run(exchange)).rejects.toBe(down);
    expect(exchange).toHaveBeenCalledTimes(1);

    await expect(run(exchange)).resolves.toEqual({ ...LOGGED_IN, session: RESULT });
    expect(exchange).toHaveBeenCalledTimes(1);
    expect(complete).toHaveBeenCalledTimes(2);
    expect(complete).toHaveBeenLastCalledWith(RESULT);

    await expect(run(exchange)).rejects.toMatchObject({ code: 'WX_CODE_USED' });
    expect(exchange).toHaveBeenCalledTimes(1);
    // Completed: the kept answer is gone.
    expect(await store.get(`${claimKey('code-1')}:answer`)).toBeNull();
  });

  it('keeps it across instances (another instance with the same store completes the retry)', async () => {
    const { run, newLedger, complete } = setup();
    const exchange = jest.fn(() => Promise.resolve(RESULT));
    complete.mockRejectedValueOnce(dbDown());

    await expect(run(exchange)).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    await expect(run(exchange, { on: newLedger() })).resolves.toEqual({ ...LOGGED_IN, session: RESULT });
    expect(exchange).toHaveBeenCalledTimes(1);
  });

  it('keeps it for the rest of the code’s life, and a completion failing again keeps it still', async () => {
    const { run, complete, clock } = setup();
    const exchange = jest.fn(() => Promise.resolve(RESULT));
    complete.mockRejectedValueOnce(dbDown()).mockRejectedValueOnce(dbDown());

    await expect(run(exchange)).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    clock.advance(60_000);
    // Not WX_RETRY_LOGIN: the answer is still kept, so a later retry can still complete.
    await expect(run(exchange)).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    clock.advance(60_000);
    await expect(run(exchange)).resolves.toEqual({ ...LOGGED_IN, session: RESULT });
    expect(exchange).toHaveBeenCalledTimes(1);
  });

  it('keeps the answer sealed: the raw store value holds neither the openid nor the session key', async () => {
    const { run, complete, store } = setup();
    complete.mockRejectedValueOnce(dbDown());

    await run(() => Promise.resolve(RESULT)).catch(() => undefined);

    const raw = await store.get(`${claimKey('code-1')}:answer`);
    expect(raw).not.toBeNull();
    expect(raw).not.toContain(RESULT.openid);
    expect(raw).not.toContain(RESULT.sessionKey);
    expect(raw).not.toContain(Buffer.from(RESULT.openid).toString('base64'));
    expect(() => JSON.parse(raw!) as unknown).toThrow();
  });

  it("a kept answer is bound to its code: copied under another code's key it is not used", async () => {
    const { run, complete, store } = setup();
    complete.mockRejectedValueOnce(dbDown());
    await run(() => Promise.resolve(RESULT), { code: 'code-1' }).catch(() => undefined);
    const sealed = (await store.get(`${claimKey('code-1')}:answer`))!;
    await store.set(`${claimKey('code-2')}:answer`, sealed, CODE_LIFETIME_MS);
    const other = { openid: 'openid-2', sessionKey: 'b3RoZXJTZXNzaW9uS2V5MTI=' };
    const exchange = jest.fn(() => Promise.resolve(other));

    await expect(run(exchange, { code: 'code-2' })).resolves.toEqual({ ...LOGGED_IN, session: other });
    expect(exchange).toHaveBeenCalledTimes(1);
  });

  it('when the store cannot keep the answer, a 503 completion error becomes WX_RETRY_LOGIN (get a new code)', async () => {
    const { run, complete, store } = setup();
    answerNotKept(store, () => new Error('store down'));
    const down = dbDown();
    complete.mockRejectedValueOnce(down);

    const e = await run(() => Promise.resolve(RESULT)).catch((error: unknown) => error);

    expect(e).toBeInstanceOf(AppException);
    expect((e as AppException).code).toBe('WX_RETRY_LOGIN');
    expect((e as AppException).getStatus()).toBe(503);
    expect((e as AppException).extras).toMatchObject({ retryAfter: 1, cause: down });
  });

  it('when the store cannot keep the answer, a completion that failed on the store (StoreUnavailableError) becomes WX_RETRY_LOGIN too', async () => {
    const { run, complete, store } = setup();
    answerNotKept(store, () => new StoreUnavailableError(5));
    const down = new StoreUnavailableError(5);
    complete.mockRejectedValueOnce(down);

    const e = await run(() => Promise.resolve(RESULT)).catch((error: unknown) => error);

    expect(e).toBeInstanceOf(AppException);
    expect((e as AppException).code).toBe('WX_RETRY_LOGIN');
    expect((e as AppException).extras).toMatchObject({ retryAfter: 1, cause: down });
  });

  it('when the store cannot keep the answer, a non-503 completion error is passed through as it is', async () => {
    const { run, complete, store } = setup();
    answerNotKept(store, () => new Error('store down'));
    const disabled = new AppException('USER_DISABLED');
    complete.mockRejectedValueOnce(disabled);

    await expect(run(() => Promise.resolve(RESULT))).rejects.toBe(disabled);
  });

  it('frees the claim after a failed completion, so the retry does not wait', async () => {
    const { run, complete, store } = setup();
    complete.mockRejectedValueOnce(dbDown());

    await run(() => Promise.resolve(RESULT)).catch(() => undefined);

    expect(await store.get(claimKey('code-1'))).toBeNull();
  });
});

describe('LoginCodeLedger (two instances sharing one store)', () => {
  it("B waits while A's exchange is pending, then gets WX_CODE_USED once A succeeds; the exchange ran once", async () => {
    const { clock, startOnTwo } = setup();
    const answer = deferred<Code2SessionResult>();
    const exchange = jest.fn(() => answer.promise);

    const { first, second } = await startOnTwo(exchange);
    for (let i = 0; i < 10; i++) {
      await flush();
      clock.advance(50);
    }
    await flush();
    expect(second.state).toBe('pending');

    answer.resolve(RESULT);
    await flush();
    expect(first).toEqual({ state: 'fulfilled', value: { ...LOGGED_IN, session: RESULT } });
    expect(second.state).toBe('pending'); // B only learns of it at its next poll
    clock.advance(50);
    await flush();

    expect(codeOf(second)).toBe('WX_CODE_USED');
    expect(exchange).toHaveBeenCalledTimes(1);
  });

  it("B gets A's final error", async () => {
    const { aFailsWhileBWaits } = setup();

    const { first, second, exchangeA } = await aFailsWhileBWaits(new AppException('WX_CODE_INVALID'));

    expect(codeOf(first)).toBe('WX_CODE_INVALID');
    expect(codeOf(second)).toBe('WX_CODE_INVALID');
    expect(exchangeA).toHaveBeenCalledTimes(1);
  });

  it('B takes over with its own exchange after A fails transiently', async () => {
    const { aFailsWhileBWaits } = setup();
    const exchangeB = jest.fn(() => Promise.resolve(RESULT));

    const { first, second, exchangeA } = await aFailsWhileBWaits(
      new AppException('WX_UNAVAILABLE'),
      exchangeB,
    );

    expect(codeOf(first)).toBe('WX_UNAVAILABLE');
    expect(second).toEqual({ state: 'fulfilled', value: { ...LOGGED_IN, session: RESULT } });
    expect(exchangeA).toHaveBeenCalledTimes(1);
    expect(exchangeB).toHaveBeenCalledTimes(1);
  });

  it("B gives up with WX_UNAVAILABLE at its deadline when A's holder never finishes", async () => {
    const { clock, run, newLedger } = setup();
    const b = newLedger();
    const exchange = jest.fn(() => new Promise<Code2SessionResult>(() => undefined));

    void run(exchange);
    await flush();
    const start = clock.now();
    const second = track(run(exchange, { on: b }));
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

  it('B waits only within the deadline it was handed, however much of it is already spent', async () => {
    const { clock, ledger, newLedger, complete } = setup();
    const b = newLedger();
    const exchange = jest.fn(() => new Promise<Code2SessionResult>(() => undefined));
    void ledger.exchangeOnce(APPID, 'code-1', Deadline.after(clock, DEADLINE_MS), exchange, complete);
    await flush();
    const deadline = Deadline.after(clock, DEADLINE_MS);
    clock.advance(4000);

    const second = track(b.exchangeOnce(APPID, 'code-1', deadline, exchange, complete));
    await flush();
    for (let i = 0; i < 40 && second.state === 'pending'; i++) {
      clock.advance(50);
      await flush();
    }

    expect(codeOf(second)).toBe('WX_UNAVAILABLE');
    // 1 s of waiting, not a fresh 5 s.
    expect(clock.now()).toBe(deadline.at);
  });

  it("a dead holder's claim expires a second after its deadline, and the code can be exchanged again", async () => {
    const { clock, run, newLedger, store } = setup();
    void run(() => new Promise<Code2SessionResult>(() => undefined));
    await flush();
    expect(await store.ttl(claimKey('code-1'))).toBe(DEADLINE_MS + 1000);

    clock.advance(DEADLINE_MS + 1000);
    const exchange = jest.fn(() => Promise.resolve(RESULT));
    await expect(run(exchange, { on: newLedger() })).resolves.toEqual({ ...LOGGED_IN, session: RESULT });
    expect(exchange).toHaveBeenCalledTimes(1);
  });
});
