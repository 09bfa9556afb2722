import { FakeClock } from '../common/clock/fake-clock';
import { CachedCheck } from './cached-check';

const OPTIONS = { intervalMs: 1000, timeoutMs: 2000 };

/** A probe whose answers the test releases one by one. */
function controllableProbe() {
  const pending: { resolve: (info?: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  const probe = jest.fn(
    () => new Promise<Record<string, unknown> | void>((resolve, reject) => pending.push({ resolve, reject })),
  );
  return { probe, pending };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('CachedCheck (fake time)', () => {
  let clock: FakeClock;

  beforeEach(() => {
    clock = new FakeClock();
  });

  it('1000 concurrent callers share one ping and one answer', async () => {
    const { probe, pending } = controllableProbe();
    const check = new CachedCheck(probe, clock, OPTIONS);
    const answers = Array.from({ length: 1000 }, () => check.check());
    await flush();
    expect(probe).toHaveBeenCalledTimes(1);
    pending[0].resolve({ kind: 'memory' });
    const outcomes = await Promise.all(answers);
    expect(new Set(outcomes.map((o) => JSON.stringify(o)))).toEqual(
      new Set([JSON.stringify({ up: true, info: { kind: 'memory' } })]),
    );
  });

  it('pings at most once per interval, however often it is asked', async () => {
    const probe = jest.fn(() => Promise.resolve());
    const check = new CachedCheck(probe, clock, OPTIONS);
    // 10 simulated seconds, a call every 10 ms (1000 calls).
    for (let t = 0; t < 10_000; t += 10) {
      await check.check();
      clock.advance(10);
    }
    expect(probe).toHaveBeenCalledTimes(10);
  });

  it('serves the cached failure within the interval, then pings again and sees the recovery', async () => {
    let up = false;
    const probe = jest.fn(() => (up ? Promise.resolve() : Promise.reject(new Error('ECONNREFUSED'))));
    const check = new CachedCheck(probe, clock, OPTIONS);
    expect((await check.check()).up).toBe(false);
    up = true;
    clock.advance(999);
    expect((await check.check()).up).toBe(false);
    expect(probe).toHaveBeenCalledTimes(1);
    clock.advance(1);
    expect((await check.check()).up).toBe(true);
    expect(probe).toHaveBeenCalledTimes(2);
  });

  it('a ping that hangs is down after the timeout, and no second ping piles up behind it', async () => {
    const { probe, pending } = controllableProbe();
    const check = new CachedCheck(probe, clock, OPTIONS);
    const first = check.check();
    await flush();
    clock.advance(OPTIONS.timeoutMs);
    await expect(first).resolves.toEqual({ up: false, info: { timedOut: true } });
    // Long past the interval, the first ping is still outstanding: no new one, still down.
    clock.advance(10_000);
    await expect(check.check()).resolves.toMatchObject({ up: false });
    expect(probe).toHaveBeenCalledTimes(1);
    // It finally answers: the next call (the interval has long passed) pings afresh.
    pending[0].resolve();
    await flush();
    const next = check.check();
    await flush();
    expect(probe).toHaveBeenCalledTimes(2);
    pending[1].resolve();
    await expect(next).resolves.toEqual({ up: true, info: {} });
  });

  it('a probe that throws synchronously is down, not an exception', async () => {
    const check = new CachedCheck(
      () => {
        throw new Error('not initialized');
      },
      clock,
      OPTIONS,
    );
    await expect(check.check()).resolves.toEqual({ up: false, info: {} });
  });
});
