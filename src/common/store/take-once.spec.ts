import { FakeClock } from '../clock/fake-clock';
import { MemoryKvStore } from './memory-kv-store';
import { takeOnce } from './take-once';

describe('takeOnce', () => {
  it('gives the value to one caller only, and deletes it', async () => {
    const store = new MemoryKvStore(new FakeClock());
    await store.set('ticket', 'v', 60_000);

    const [a, b] = await Promise.all([takeOnce(store, 'ticket'), takeOnce(store, 'ticket')]);

    expect([a, b]).toContain('v');
    expect([a, b]).toContain(null);
    expect(await store.get('ticket')).toBeNull();
    expect(await takeOnce(store, 'ticket')).toBeNull();
  });

  it('is null for a key that is not there', async () => {
    expect(await takeOnce(new MemoryKvStore(new FakeClock()), 'absent')).toBeNull();
  });
});
