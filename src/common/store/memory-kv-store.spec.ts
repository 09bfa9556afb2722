import { FakeClock } from '../clock/fake-clock';
import { MemoryKvStore } from './memory-kv-store';
import { StoreUnavailableError } from './store-unavailable.error';

describe('MemoryKvStore', () => {
  let clock: FakeClock;
  let store: MemoryKvStore;

  beforeEach(() => {
    clock = new FakeClock();
    store = new MemoryKvStore(clock);
  });

  it('is a memory store that always answers ping', async () => {
    expect(store.kind).toBe('memory');
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('returns null for a missing key', async () => {
    await expect(store.get('nope')).resolves.toBeNull();
  });

  it('keeps a value until its TTL passes', async () => {
    await store.set('k', 'v', 1000);
    clock.advance(999);
    await expect(store.get('k')).resolves.toBe('v');
    clock.advance(1);
    await expect(store.get('k')).resolves.toBeNull();
  });

  it('set overwrites the value and restarts the TTL', async () => {
    await store.set('k', 'a', 1000);
    clock.advance(800);
    await store.set('k', 'b', 1000);
    clock.advance(800);
    await expect(store.get('k')).resolves.toBe('b');
  });

  it('claim: creates the key and reads the companion; a held key answers its own value; all or nothing', async () => {
    await store.set('kept', 'answer', 5000);
    await expect(store.claim('c', 'pending', 1000, 'kept')).resolves.toEqual({ created: true, value: 'answer' });
    expect(await store.ttl('c')).toBe(1000);
    await expect(store.claim('c', 'other', 1000, 'kept')).resolves.toEqual({ created: false, value: 'pending' });
    await expect(store.claim('d', 'pending', 1000, 'none')).resolves.toEqual({ created: true, value: null });
    // The companion's read fails after the claim was made: the claim is given back, the failure thrown.
    const down = new StoreUnavailableError(1);
    jest.spyOn(store, 'get').mockRejectedValueOnce(down);
    await expect(store.claim('e', 'pending', 1000, 'kept')).rejects.toBe(down);
    expect(await store.ttl('e')).toBe(-1);
  });

  it('delete removes a key', async () => {
    await store.set('k', 'v', 1000);
    await store.delete('k');
    await expect(store.get('k')).resolves.toBeNull();
  });

  describe('setIfAbsent', () => {
    it('creates only when the key is absent', async () => {
      await expect(store.setIfAbsent('k', 'first', 1000)).resolves.toBe(true);
      await expect(store.setIfAbsent('k', 'second', 1000)).resolves.toBe(false);
      await expect(store.get('k')).resolves.toBe('first');
    });

    it('succeeds again once the previous value expired', async () => {
      await store.setIfAbsent('k', 'first', 1000);
      clock.advance(1000);
      await expect(store.setIfAbsent('k', 'second', 1000)).resolves.toBe(true);
      await expect(store.get('k')).resolves.toBe('second');
    });
  });

  describe('increment', () => {
    it('counts from 1 and keeps the expiry set at creation', async () => {
      await expect(store.increment('c', 1000)).resolves.toBe(1);
      clock.advance(600);
      await expect(store.increment('c', 1000)).resolves.toBe(2);
      await expect(store.ttl('c')).resolves.toBe(400);
      clock.advance(400);
      // Window over: a fresh counter with a fresh TTL.
      await expect(store.increment('c', 1000)).resolves.toBe(1);
      await expect(store.ttl('c')).resolves.toBe(1000);
    });

    it('increments a numeric value written by set', async () => {
      await store.set('c', '41', 1000);
      await expect(store.increment('c', 5000)).resolves.toBe(42);
      await expect(store.get('c')).resolves.toBe('42');
      await expect(store.ttl('c')).resolves.toBe(1000);
    });
  });

  describe('ttl', () => {
    it('is the remaining time in ms, or -1 for a missing or expired key', async () => {
      await expect(store.ttl('k')).resolves.toBe(-1);
      await store.set('k', 'v', 5000);
      await expect(store.ttl('k')).resolves.toBe(5000);
      clock.advance(1500);
      await expect(store.ttl('k')).resolves.toBe(3500);
      clock.advance(3500);
      await expect(store.ttl('k')).resolves.toBe(-1);
    });
  });

  it('keeps unexpired keys through the periodic sweep', async () => {
    await store.set('long', 'v', 60_000);
    for (let i = 0; i < 1000; i++) await store.set(`short-${i}`, 'v', 10);
    clock.advance(10);
    for (let i = 0; i < 1000; i++) await store.set(`more-${i}`, 'v', 10);
    await expect(store.get('long')).resolves.toBe('v');
    await expect(store.get('short-0')).resolves.toBeNull();
    await expect(store.get('more-999')).resolves.toBe('v');
  });

  it('close: subscribers hear nothing more and every call is refused (as Redis after quit), as a rejection', async () => {
    const heard: string[] = [];
    await store.subscribe(
      'ch',
      (m) => heard.push(m),
      () => undefined,
    );
    await store.set('k', 'v', 1000);
    await store.close();
    const calls: Array<() => Promise<unknown>> = [
      () => store.get('k'),
      () => store.set('k', 'v', 1000),
      () => store.setIfAbsent('k', 'v', 1000),
      () => store.claim('k', 'v', 1000, 'c'),
      () => store.increment('k', 1000),
      () => store.hit('k', 1000),
      () => store.ttl('k'),
      () => store.delete('k'),
      () => store.deleteIfEquals('k', 'v'),
      () => store.entries(''),
      () => store.publish('ch', 'late'),
      () =>
        store.subscribe(
          'ch',
          () => undefined,
          () => undefined,
        ),
      () => store.ping(),
    ];
    for (const call of calls) await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(heard).toEqual([]);
    await expect(store.close()).resolves.toBeUndefined();
  });
});
