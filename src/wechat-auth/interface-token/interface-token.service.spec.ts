import { Logger } from '@nestjs/common';
import { FakeClock } from '../../common/clock/fake-clock';
import { AppException } from '../../common/errors/app.exception';
import { Random } from '../../common/random/random';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import type { AppConfig } from '../../config/app-config';
import { type Deferred, deferred, flush, type Outcome, settle, settleAll, track } from '../../testing/async';
import { testConfig } from '../../testing/test-config';
import { Deadline } from '../upstream/deadline';
import { WechatCallPolicy } from '../upstream/wechat-call-policy';
import type { LogContext, WechatHttp, WechatRequest } from '../upstream/wechat-http';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';
import { InterfaceTokenService } from './interface-token.service';

// 12:00:45 UTC = 20:00:45 in Beijing, where WeChat's day (and the force_refresh budget) turns.
const START = Date.UTC(2026, 0, 1, 12, 0, 45);
const BEIJING_MIDNIGHT = Date.UTC(2026, 0, 1, 16, 0, 0);
const DEADLINE_MS = 8000;
const LOCK_KEY = 'wx:token-lock:wxapp_one';
const tokenN = (n: number) => `ACCESS_TOKEN_${String(n).padStart(4, '0')}_abcdefghijklmnop`;

type Body = Record<string, unknown>;

/**
 * WeChat's /cgi-bin/stable_token for one app: the same token to every caller until it is renewed,
 * a new one on force_refresh. `pause()` holds the next answer until released.
 */
class FakeStableToken {
  current = 1;
  expiresIn = 7200;
  readonly calls: { instance: string; force: boolean; at: number }[] = [];
  private readonly holds: Deferred<void>[] = [];

  constructor(private readonly clock: FakeClock) {}

  get token(): string {
    return tokenN(this.current);
  }

  /** WeChat renews the token by itself (or another system forced a new one). */
  renew(): void {
    this.current++;
  }

  pause(): Deferred<void> {
    const hold = deferred<void>();
    this.holds.push(hold);
    return hold;
  }

  async answer(instance: string, request: WechatRequest): Promise<Body> {
    expect(request).toMatchObject({ method: 'POST', path: '/cgi-bin/stable_token' });
    const force = request.json?.force_refresh === true;
    this.calls.push({ instance, force, at: this.clock.now() });
    const hold = this.holds.shift();
    if (hold) await hold.promise;
    if (force) this.renew();
    return { access_token: this.token, expires_in: this.expiresIn };
  }

  get forced(): number {
    return this.calls.filter((c) => c.force).length;
  }
}

function setup(env: Record<string, string> = {}) {
  const clock = new FakeClock(START);
  const store = new MemoryKvStore(clock);
  const config = testConfig(env);
  const app = config.wechat.apps.get('wxapp_one')!;
  const wechat = new FakeStableToken(clock);
  /** One app instance: its own policy and token service (and in-process single-flight), the shared store. */
  const instance = (name: string, cfg: AppConfig = config) => {
    const send = jest.fn((request: WechatRequest, _log: LogContext, _timeoutMs: number) =>
      wechat.answer(name, request),
    );
    const random = new Random();
    let nonces = 0;
    jest.spyOn(random, 'uuid').mockImplementation(() => `${name}-${++nonces}`);
    jest.spyOn(random, 'fraction').mockReturnValue(0.5);
    const policy = new WechatCallPolicy({ send } as unknown as WechatHttp, cfg, clock, random, store);
    const service = new InterfaceTokenService(policy, store, clock, random, cfg);
    return { service, send };
  };
  const deadline = (ms = DEADLINE_MS) => Deadline.after(clock, ms);
  return { clock, store, config, app, wechat, instance, deadline, ...instance('A') };
}

const value = <T>(o: Outcome<T>): T => {
  if (o.state !== 'fulfilled') throw new Error(`expected a value, got ${JSON.stringify(o)}`);
  return o.value;
};
const errorOf = (o: Outcome<unknown>): AppException => {
  expect(o.state).toBe('rejected');
  const error = (o as { error: unknown }).error;
  expect(error).toBeInstanceOf(AppException);
  return error as AppException;
};

let errorLog: jest.SpyInstance;
let warnLog: jest.SpyInstance;
let infoLog: jest.SpyInstance;

beforeEach(() => {
  errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  warnLog = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  infoLog = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('InterfaceTokenService.get: one fetch for everyone', () => {
  it('50 parallel callers share one upstream fetch', async () => {
    const { service, app, wechat, clock, store, deadline } = setup();
    const setIfAbsent = jest.spyOn(store, 'setIfAbsent');
    const hold = wechat.pause();

    const calls = Array.from({ length: 50 }, () => service.get(app, deadline()));
    await flush();
    await flush();
    expect(wechat.calls).toHaveLength(1);
    hold.resolve();
    const outcomes = await settleAll(calls, clock);

    expect(outcomes.map(value)).toEqual(Array(50).fill(tokenN(1)));
    expect(wechat.calls).toHaveLength(1);
    // In-process single-flight: one lock attempt, nobody polled the store.
    expect(setIfAbsent).toHaveBeenCalledTimes(1);
    expect(clock.now()).toBe(START);
  });

  it('asks for the token in normal mode (never force_refresh) with the app’s credentials', async () => {
    const { service, app, send, clock, deadline } = setup();

    await settle(service.get(app, deadline()), clock);

    expect(send.mock.calls[0][0]).toEqual({
      method: 'POST',
      path: '/cgi-bin/stable_token',
      json: { grant_type: 'client_credential', appid: app.appid, secret: app.secret },
    });
  });

  it('two instances sharing one store, called in parallel, fetch once: the second waits on the lock and reads the cache', async () => {
    const { service: a, instance, app, wechat, clock, store, deadline } = setup();
    const { service: b, send: sendB } = instance('B');
    const hold = wechat.pause();

    const first = a.get(app, deadline());
    await flush();
    expect(await store.get(LOCK_KEY)).toBe('A-1');
    const second = b.get(app, deadline());
    await flush();
    clock.advance(200);
    await flush();
    hold.resolve();
    const [fromA, fromB] = await settleAll([first, second], clock);

    expect(value(fromA)).toBe(tokenN(1));
    expect(value(fromB)).toBe(tokenN(1));
    expect(wechat.calls).toEqual([expect.objectContaining({ instance: 'A' })]);
    expect(sendB).not.toHaveBeenCalled();
    expect(await store.get(LOCK_KEY)).toBeNull();
  });

  it('keeps one token per app', async () => {
    const { service, app, config, wechat, clock, deadline } = setup();
    const two = config.wechat.apps.get('wxapp_two')!;

    await settle(service.get(app, deadline()), clock);
    await settle(service.get(two, deadline()), clock);
    await settle(service.get(app, deadline()), clock);

    expect(wechat.calls).toHaveLength(2);
  });
});

describe('InterfaceTokenService.get: the cache', () => {
  it('uses the cached token until expires_in − margin, then fetches again', async () => {
    const { service, app, wechat, clock, store, deadline } = setup();
    expect(value(await settle(service.get(app, deadline()), clock))).toBe(tokenN(1));
    expect(await store.ttl('wx:token:wxapp_one')).toBe(7200 * 1000);
    wechat.renew(); // WeChat renews 5 minutes before the end; until then it answers with the same token

    clock.advance((7200 - 300) * 1000 - 1);
    expect(value(await settle(service.get(app, deadline()), clock))).toBe(tokenN(1));
    expect(wechat.calls).toHaveLength(1);

    clock.advance(1);
    expect(value(await settle(service.get(app, deadline()), clock))).toBe(tokenN(2));
    expect(wechat.calls).toHaveLength(2);
  });

  /** Fetches the token, then asks again just before `ms` (served from the cache) and at `ms` (fetched again). */
  async function expectCachedFor(
    { service, app, wechat, clock, deadline }: ReturnType<typeof setup>,
    ms: number,
  ) {
    await settle(service.get(app, deadline()), clock);

    clock.advance(ms - 1);
    await settle(service.get(app, deadline()), clock);
    expect(wechat.calls).toHaveLength(1);
    clock.advance(1);
    await settle(service.get(app, deadline()), clock);
    expect(wechat.calls).toHaveLength(2);
  }

  it('honours the configured margin (WECHAT_TOKEN_REFRESH_MARGIN_S)', async () => {
    await expectCachedFor(setup({ WECHAT_TOKEN_REFRESH_MARGIN_S: '600' }), (7200 - 600) * 1000);
  });

  it('honours a shorter expires_in, using half of it when the margin does not fit', async () => {
    const s = setup();
    s.wechat.expiresIn = 400;
    await expectCachedFor(s, 200 * 1000);
  });

  it('a garbled cache entry is refetched, not a 500', async () => {
    const { service, app, wechat, clock, store, deadline } = setup();
    await store.set('wx:token:wxapp_one', '{not json', 60_000);

    expect(value(await settle(service.get(app, deadline()), clock))).toBe(tokenN(1));
    expect(wechat.calls).toHaveLength(1);
  });

  it('a failed fetch is passed on and frees the lock: the next caller fetches at once', async () => {
    const { service, app, clock, store, deadline, send } = setup({ WECHAT_MAX_RETRIES: '0' });
    send.mockRejectedValueOnce(new WechatUpstreamError('errcode', { errcode: 40125 }));

    expect(errorOf(await settle(service.get(app, deadline()), clock)).code).toBe('WX_MISCONFIGURED');
    expect(await store.get(LOCK_KEY)).toBeNull();
    const start = clock.now();
    expect(value(await settle(service.get(app, deadline()), clock))).toBe(tokenN(1));
    expect(clock.now()).toBe(start);
  });

  it('an answer that is not a token is WX_UNAVAILABLE and is not cached', async () => {
    const { service, app, clock, store, deadline, send } = setup({ WECHAT_MAX_RETRIES: '0' });
    send.mockResolvedValueOnce({ access_token: 'short', expires_in: 7200 });

    expect(errorOf(await settle(service.get(app, deadline()), clock)).code).toBe('WX_UNAVAILABLE');
    expect(await store.get('wx:token:wxapp_one')).toBeNull();
  });
});

describe('InterfaceTokenService: the lock across instances', () => {
  it('a lock left by a dead holder expires and is taken over, within the deadline', async () => {
    const { service, app, wechat, clock, store, deadline } = setup();
    await store.setIfAbsent(LOCK_KEY, 'dead-holder', 3000);

    const outcome = await settle(service.get(app, deadline()), clock);

    expect(value(outcome)).toBe(tokenN(1));
    expect(wechat.calls).toHaveLength(1);
    const waited = wechat.calls[0].at - START;
    expect(waited).toBeGreaterThanOrEqual(3000);
    expect(waited).toBeLessThanOrEqual(3050);
  });

  it('a lock held past the deadline gives WX_UNAVAILABLE by the deadline, without fetching', async () => {
    const { service, app, wechat, clock, store, deadline } = setup();
    await store.setIfAbsent(LOCK_KEY, 'slow-holder', 60_000);
    const d = deadline(2000);

    const e = errorOf(await settle(service.get(app, d), clock));

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(e.extras.retryAfter).toBe(1);
    expect(clock.now()).toBeLessThanOrEqual(d.at);
    expect(wechat.calls).toHaveLength(0);
  });

  it("releases the lock by compare-and-delete: a holder whose lease expired does not delete the next holder's lock", async () => {
    const { service: a, instance, app, wechat, clock, store, deadline } = setup();
    const { service: b } = instance('B');
    const holdA = wechat.pause();
    const holdB = wechat.pause();

    // A's lease: its 1 s deadline + 1 s. A then hangs in its fetch well past it.
    const first = track(a.get(app, deadline(1000)));
    await flush();
    expect(await store.ttl(LOCK_KEY)).toBe(2000);
    clock.advance(100);
    const second = track(b.get(app, deadline()));
    for (let i = 0; i < 2000 && wechat.calls.length < 2; i++) {
      clock.advance(1);
      await flush();
    }
    expect(wechat.calls.map((c) => c.instance)).toEqual(['A', 'B']);
    expect(await store.get(LOCK_KEY)).toBe('B-1');

    holdA.resolve();
    await flush();
    await flush();
    expect(first).toEqual({ state: 'fulfilled', value: tokenN(1) });
    expect(await store.get(LOCK_KEY)).toBe('B-1');

    holdB.resolve();
    await flush();
    await flush();
    expect(second).toEqual({ state: 'fulfilled', value: tokenN(1) });
    expect(await store.get(LOCK_KEY)).toBeNull();
  });

  it('the lock is never held longer than the deadline plus a second', async () => {
    const { service, app, clock, store, deadline, wechat } = setup();
    const setIfAbsent = jest.spyOn(store, 'setIfAbsent');
    const hold = wechat.pause();

    void service.get(app, deadline(5000));
    await flush();
    hold.resolve();
    await flush();

    expect(setIfAbsent).toHaveBeenCalledWith(LOCK_KEY, 'A-1', 6000);
    expect(clock.now()).toBe(START);
  });
});

describe('InterfaceTokenService.replaceRejected', () => {
  it('returns a different cached token without fetching', async () => {
    const { service, app, wechat, clock, deadline } = setup();
    await settle(service.get(app, deadline()), clock);

    const outcome = await settle(
      service.replaceRejected(app, 'REJECTED_TOKEN_0000_abcdef', deadline()),
      clock,
    );

    expect(value(outcome)).toBe(tokenN(1));
    expect(wechat.calls).toHaveLength(1);
  });

  it('fetches in normal mode when the rejected token is the cached one, and takes the new token WeChat hands out', async () => {
    const { service, app, wechat, clock, deadline } = setup();
    await settle(service.get(app, deadline()), clock);
    wechat.renew();

    expect(value(await settle(service.replaceRejected(app, tokenN(1), deadline()), clock))).toBe(tokenN(2));

    expect(wechat.calls.map((c) => c.force)).toEqual([false, false]);
    expect(value(await settle(service.get(app, deadline()), clock))).toBe(tokenN(2));
  });

  it('when WeChat hands back the very token it refused: exactly one force_refresh', async () => {
    const { service, app, wechat, clock, deadline } = setup();
    await settle(service.get(app, deadline()), clock);

    const outcomes = await settleAll(
      Array.from({ length: 10 }, () => service.replaceRejected(app, tokenN(1), deadline())),
      clock,
    );

    expect(outcomes.map(value)).toEqual(Array(10).fill(tokenN(2)));
    expect(wechat.calls.map((c) => c.force)).toEqual([false, false, true]);
    expect(value(await settle(service.get(app, deadline()), clock))).toBe(tokenN(2));
    expect(warnLog).toHaveBeenCalledWith(
      expect.objectContaining({ alert: 'WECHAT_FORCE_REFRESH', appid: app.appid, used: 1 }),
      expect.any(String),
    );
  });

  it('a second force within 30 s → WX_UNAVAILABLE without forcing; after 30 s it is allowed again', async () => {
    const { service, app, wechat, clock, deadline } = setup();
    await settle(service.get(app, deadline()), clock);
    await settle(service.replaceRejected(app, tokenN(1), deadline()), clock);
    expect(wechat.forced).toBe(1);
    const forcedAt = wechat.calls[2].at;

    clock.advance(10_000);
    const e = errorOf(await settle(service.replaceRejected(app, tokenN(2), deadline()), clock));

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(e.extras.retryAfter).toBe(Math.ceil((forcedAt + 30_000 - clock.now()) / 1000));
    expect(wechat.forced).toBe(1);

    clock.advance(30_000);
    expect(value(await settle(service.replaceRejected(app, tokenN(2), deadline()), clock))).toBe(tokenN(3));
    expect(wechat.forced).toBe(2);
  });

  it('with the daily budget spent: WX_UNAVAILABLE until Beijing midnight, an alert, and WeChat not asked to force', async () => {
    const { service, app, wechat, clock, deadline } = setup({ WECHAT_FORCE_REFRESH_DAILY_BUDGET: '2' });
    await settle(service.get(app, deadline()), clock);
    await settle(service.replaceRejected(app, tokenN(1), deadline()), clock);
    clock.advance(31_000);
    await settle(service.replaceRejected(app, tokenN(2), deadline()), clock);
    expect(wechat.forced).toBe(2);

    clock.advance(31_000);
    const e = errorOf(await settle(service.replaceRejected(app, tokenN(3), deadline()), clock));

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(e.extras.retryAfter).toBe(Math.ceil((BEIJING_MIDNIGHT - clock.now()) / 1000));
    expect(wechat.forced).toBe(2);
    const alerts = errorLog.mock.calls.filter(
      ([payload]) => (payload as { alert?: string }).alert === 'WECHAT_FORCE_REFRESH_BUDGET',
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0][0]).toMatchObject({ appid: app.appid, budget: 2 });
    const logged = JSON.stringify([...errorLog.mock.calls, ...warnLog.mock.calls, ...infoLog.mock.calls]);
    expect(logged).not.toContain(app.secret);
    expect(logged).not.toContain('ACCESS_TOKEN_');

    // A new day in Beijing: a new budget.
    clock.advance(BEIJING_MIDNIGHT - clock.now());
    expect(value(await settle(service.replaceRejected(app, tokenN(3), deadline()), clock))).toBe(tokenN(4));
    expect(wechat.forced).toBe(3);
  });

  it('a budget of 0 never forces', async () => {
    const { service, app, wechat, clock, deadline } = setup({ WECHAT_FORCE_REFRESH_DAILY_BUDGET: '0' });
    await settle(service.get(app, deadline()), clock);

    expect(errorOf(await settle(service.replaceRejected(app, tokenN(1), deadline()), clock)).code).toBe(
      'WX_UNAVAILABLE',
    );
    expect(wechat.forced).toBe(0);
  });

  it.each([
    ['the 30 s gap is shared through the store with other instances', {}, 5000],
    [
      'the budget is shared through the store by all instances',
      { WECHAT_FORCE_REFRESH_DAILY_BUDGET: '1' },
      31_000,
    ],
  ])('%s', async (_, env: Record<string, string>, laterMs) => {
    const { service, instance, app, wechat, clock, deadline } = setup(env);
    const { service: b } = instance('B');
    await settle(service.get(app, deadline()), clock);
    await settle(service.replaceRejected(app, tokenN(1), deadline()), clock);

    clock.advance(laterMs);
    expect(errorOf(await settle(b.replaceRejected(app, tokenN(2), deadline()), clock)).code).toBe(
      'WX_UNAVAILABLE',
    );
    expect(wechat.forced).toBe(1);
  });
});
