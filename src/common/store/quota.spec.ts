import { FakeClock } from '../clock/fake-clock';
import { MemoryKvStore } from './memory-kv-store';
import { daysAt, MINUTE, msToPeriodEnd, periodOf, Quota } from './quota';
import { StoreUnavailableError } from './store-unavailable.error';

const HOUR = 3600_000;
const BEIJING_DAY = daysAt(8 * HOUR);
/** 2026-01-01 15:59:59.000 UTC = 23:59:59 in Beijing. */
const ONE_SECOND_TO_BEIJING_MIDNIGHT = Date.UTC(2026, 0, 1, 15, 59, 59);

describe('Quota', () => {
  let clock: FakeClock;
  let store: MemoryKvStore;

  beforeEach(() => {
    clock = new FakeClock(Date.UTC(2026, 0, 1, 3, 0, 0));
    store = new MemoryKvStore(clock);
  });

  it('allows `limit` takes per key and period; the next is refused with the seconds to the period end', async () => {
    const quota = new Quota(store, clock, BEIJING_DAY);
    for (let i = 1; i <= 3; i++)
      await expect(quota.take('k', 3)).resolves.toMatchObject({ allowed: true, used: i });
    const over = await quota.take('k', 3);
    // 03:00 UTC is 11:00 in Beijing: 13 h to midnight there.
    expect(over).toMatchObject({ allowed: false, used: 4, retryAfterSeconds: 13 * 3600 });
    // Another key has its own count.
    await expect(quota.take('other', 3)).resolves.toMatchObject({ allowed: true, used: 1 });
  });

  it('of many parallel takes exactly the limit pass (increment-then-compare)', async () => {
    const quota = new Quota(store, clock, BEIJING_DAY);
    const takes = await Promise.all(Array.from({ length: 20 }, () => quota.take('k', 5)));
    expect(takes.filter((t) => t.allowed)).toHaveLength(5);
  });

  it('a day starts at midnight of its offset (Beijing), not UTC', async () => {
    clock = new FakeClock(ONE_SECOND_TO_BEIJING_MIDNIGHT);
    store = new MemoryKvStore(clock);
    const quota = new Quota(store, clock, BEIJING_DAY);
    await quota.take('k', 1);
    const over = await quota.take('k', 1);
    expect(over).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    clock.advance(1000);
    await expect(quota.take('k', 1)).resolves.toMatchObject({ allowed: true, used: 1 });
  });

  it('minutes: a new count each minute; the key is <key>:<period>, kept a period', async () => {
    const quota = new Quota(store, clock, MINUTE);
    await quota.take('k', 1);
    const minute = Math.floor(clock.now() / 60_000);
    await expect(store.get(`k:${minute}`)).resolves.toBe('1');
    await expect(store.ttl(`k:${minute}`)).resolves.toBe(60_000);
    clock.advance(30_000);
    await expect(quota.take('k', 1)).resolves.toMatchObject({ allowed: false, retryAfterSeconds: 30 });
    clock.advance(30_000);
    await expect(quota.take('k', 1)).resolves.toMatchObject({ allowed: true, used: 1 });
  });

  it('a day counter outlives its day by 2 h (clock skew between instances)', async () => {
    const quota = new Quota(store, clock, BEIJING_DAY);
    await quota.take('k', 1);
    await expect(store.ttl(`k:${periodOf(BEIJING_DAY, clock.now())}`)).resolves.toBe(26 * HOUR);
  });

  it('a refused take stays counted: refusals cannot wear the counter down', async () => {
    const quota = new Quota(store, clock, BEIJING_DAY);
    await quota.take('k', 1);
    for (let i = 0; i < 3; i++) expect((await quota.take('k', 1)).allowed).toBe(false);
    await expect(quota.used('k')).resolves.toBe(4);
  });

  it('giveBack returns one take, once, so the next take passes again', async () => {
    const quota = new Quota(store, clock, BEIJING_DAY);
    const first = await quota.take('k', 1);
    await first.giveBack();
    await first.giveBack();
    await expect(quota.used('k')).resolves.toBe(0);
    await expect(quota.take('k', 1)).resolves.toMatchObject({ allowed: true, used: 1 });
  });

  it('giveBack is best effort: a store that does not answer leaves the count high, never throws', async () => {
    const quota = new Quota(store, clock, BEIJING_DAY);
    const take = await quota.take('k', 1);
    jest.spyOn(store, 'increment').mockRejectedValueOnce(new StoreUnavailableError(5));
    await expect(take.giveBack()).resolves.toBeUndefined();
    await expect(quota.used('k')).resolves.toBe(1);
  });

  it('fails closed: a store that does not answer is its StoreUnavailableError, not a free pass', async () => {
    const quota = new Quota(store, clock, BEIJING_DAY);
    await store.close();
    await expect(quota.take('k', 100)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('periodOf/msToPeriodEnd: the shifted calendar, ≥ 1 ms left', () => {
    expect(periodOf(BEIJING_DAY, ONE_SECOND_TO_BEIJING_MIDNIGHT) + 1).toBe(
      periodOf(BEIJING_DAY, ONE_SECOND_TO_BEIJING_MIDNIGHT + 1000),
    );
    expect(msToPeriodEnd(BEIJING_DAY, ONE_SECOND_TO_BEIJING_MIDNIGHT)).toBe(1000);
    expect(msToPeriodEnd(MINUTE, 60_000)).toBe(60_000);
    expect(msToPeriodEnd(MINUTE, 119_999)).toBe(1);
  });
});
