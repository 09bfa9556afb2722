import { Logger } from '@nestjs/common';
import { FakeClock } from '../clock/fake-clock';
import { MemoryKvStore } from '../store/memory-kv-store';
import { StoreUnavailableError } from '../store/store-unavailable.error';
import { KvThrottlerStorage } from './kv-throttler.storage';

const MINUTE = 60_000;
const LIMIT = 3;

/** A shared store (as several instances see Redis) that can be made to fail, command by command. */
class SharedStore extends MemoryKvStore {
  down = false;
  /** Fails only `ttl` (the second of the two commands a hit takes). */
  ttlDown = false;

  override increment(key: string, ttlMs: number, by?: number): Promise<number> {
    if (this.down) return Promise.reject(new StoreUnavailableError(5));
    return super.increment(key, ttlMs, by);
  }

  override ttl(key: string): Promise<number> {
    if (this.down || this.ttlDown) return Promise.reject(new StoreUnavailableError(5));
    return super.ttl(key);
  }
}

describe('KvThrottlerStorage', () => {
  let clock: FakeClock;
  let shared: SharedStore;
  let warn: jest.SpyInstance;

  beforeEach(() => {
    clock = new FakeClock();
    shared = new SharedStore(clock);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  const hit = (storage: KvThrottlerStorage, key = 'ip-1') =>
    storage.increment(key, MINUTE, LIMIT, MINUTE, 'login');

  it('counts in the shared store: the limit holds across instances, per throttler and key', async () => {
    const a = new KvThrottlerStorage(shared, clock);
    const b = new KvThrottlerStorage(shared, clock);
    await hit(a);
    await hit(b);
    await expect(hit(a)).resolves.toMatchObject({ totalHits: 3, isBlocked: false, timeToBlockExpire: 0 });
    await expect(hit(b)).resolves.toEqual({
      totalHits: 4,
      timeToExpire: 60,
      isBlocked: true,
      timeToBlockExpire: 60,
    });
    await expect(shared.get('throttle:login:ip-1')).resolves.toBe('4');
    await expect(hit(a, 'ip-2')).resolves.toMatchObject({ totalHits: 1, isBlocked: false });
    await expect(a.increment('ip-1', MINUTE, LIMIT, MINUTE, 'refresh')).resolves.toMatchObject({
      totalHits: 1,
    });
  });

  it('reports the rest of the fixed window in whole seconds (rounded up, at least 1), and starts over after it', async () => {
    const a = new KvThrottlerStorage(shared, clock);
    await hit(a);
    clock.advance(20_500);
    await expect(hit(a)).resolves.toMatchObject({ totalHits: 2, timeToExpire: 40 });
    clock.advance(39_499);
    await expect(hit(a)).resolves.toMatchObject({ totalHits: 3, timeToExpire: 1 });
    clock.advance(1);
    await expect(hit(a)).resolves.toMatchObject({ totalHits: 1, timeToExpire: 60 });
  });

  it('when the shared store fails, counts in this instance instead: never a 503, and the limit still holds here', async () => {
    const a = new KvThrottlerStorage(shared, clock);
    const b = new KvThrottlerStorage(shared, clock);
    await hit(a);
    shared.down = true;
    // This instance's own count (the shared one is unreachable): 1, 2, 3, then blocked.
    for (const n of [1, 2, 3])
      await expect(hit(a)).resolves.toMatchObject({ totalHits: n, isBlocked: false });
    await expect(hit(a)).resolves.toEqual({
      totalHits: 4,
      timeToExpire: 60,
      isBlocked: true,
      timeToBlockExpire: 60,
    });
    // Per instance: looser by the number of instances.
    await expect(hit(b)).resolves.toMatchObject({ totalHits: 1, isBlocked: false });
    // The local window ends like the shared one.
    clock.advance(MINUTE);
    await expect(hit(a)).resolves.toMatchObject({ totalHits: 1, timeToExpire: 60 });
  });

  it('a failure between the two commands of a hit also falls back (no 503)', async () => {
    const a = new KvThrottlerStorage(shared, clock);
    shared.ttlDown = true;
    await expect(hit(a)).resolves.toMatchObject({ totalHits: 1, timeToExpire: 60, isBlocked: false });
  });

  it('goes back to the shared counters as soon as the store answers', async () => {
    const a = new KvThrottlerStorage(shared, clock);
    await hit(a);
    shared.down = true;
    await hit(a);
    shared.down = false;
    await expect(hit(a)).resolves.toMatchObject({ totalHits: 2 });
    await expect(shared.get('throttle:login:ip-1')).resolves.toBe('2');
  });

  it('warns once per outage, with the error name only', async () => {
    const a = new KvThrottlerStorage(shared, clock);
    shared.down = true;
    for (let i = 0; i < 5; i++) await hit(a);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      { error: 'StoreUnavailableError' },
      expect.stringContaining('per instance'),
    );
    shared.down = false;
    await hit(a);
    shared.down = true;
    await hit(a);
    await hit(a);
    expect(warn).toHaveBeenCalledTimes(2);
  });
});
