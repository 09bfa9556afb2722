import { FakeClock } from '../common/clock/fake-clock';
import { KvStore } from '../common/store/kv-store';
import { MemoryKvStore } from '../common/store/memory-kv-store';
import {
  FAILED_LOGIN_WINDOW_MS,
  FAILED_LOGINS_PER_CLIENT,
  FAILED_LOGINS_PER_IP,
  FailedClientLogins,
} from './failed-client-logins';

describe('FailedClientLogins', () => {
  let clock: FakeClock;
  let store: MemoryKvStore;
  let failures: FailedClientLogins;

  beforeEach(() => {
    clock = new FakeClock();
    store = new MemoryKvStore(clock);
    failures = new FailedClientLogins(store, clock);
  });

  const fail = (times: number, ip: (i: number) => string, id: (i: number) => string) =>
    Array.from({ length: times }).reduce<Promise<number[]>>(
      async (acc, _, i) => [...(await acc), await failures.failed(ip(i), id(i), true)],
      Promise.resolve([]),
    );

  it(`an IP may fail ${FAILED_LOGINS_PER_IP} times in a window; the next failure is refused, and so is everything from it until the window ends`, async () => {
    const waits = await fail(
      FAILED_LOGINS_PER_IP + 1,
      () => '203.0.113.7',
      (i) => `client-${i}`,
    );
    expect(waits.slice(0, FAILED_LOGINS_PER_IP)).toEqual(Array(FAILED_LOGINS_PER_IP).fill(0));
    expect(waits[FAILED_LOGINS_PER_IP]).toBe(FAILED_LOGIN_WINDOW_MS / 1000);
    // Any id from that IP, even one never tried (a right secret would be refused too: checked first).
    expect(failures.retryAfter('203.0.113.7', 'orders')).toBe(FAILED_LOGIN_WINDOW_MS / 1000);
    expect(failures.retryAfter('203.0.113.8', 'orders')).toBe(0);
    clock.advance(FAILED_LOGIN_WINDOW_MS - 1500);
    expect(failures.retryAfter('203.0.113.7', 'orders')).toBe(2);
    clock.advance(1500);
    expect(failures.retryAfter('203.0.113.7', 'orders')).toBe(0);
    // A new window: counted from zero again.
    expect(await failures.failed('203.0.113.7', 'orders', true)).toBe(0);
  });

  it(`a client id may fail ${FAILED_LOGINS_PER_CLIENT} times in a window from any number of IPs`, async () => {
    const waits = await fail(
      FAILED_LOGINS_PER_CLIENT + 1,
      (i) => `198.51.100.${i}`,
      () => 'orders',
    );
    expect(waits.filter((w) => w > 0)).toEqual([FAILED_LOGIN_WINDOW_MS / 1000]);
    expect(waits[FAILED_LOGINS_PER_CLIENT]).toBeGreaterThan(0);
    expect(failures.retryAfter('192.0.2.1', 'orders')).toBeGreaterThan(0);
    expect(failures.retryAfter('192.0.2.1', 'billing')).toBe(0);
  });

  it('counts in the shared store: failures on two instances add up, and each refuses once it sees the total over', async () => {
    const other = new FailedClientLogins(store, clock);
    for (let i = 0; i < FAILED_LOGINS_PER_IP; i++)
      expect(await (i % 2 ? other : failures).failed('203.0.113.9', `id-${i}`, false)).toBe(0);
    // This instance has not seen a count over the limit yet: its next failure is the one that is.
    expect(failures.retryAfter('203.0.113.9', 'x')).toBe(0);
    expect(await failures.failed('203.0.113.9', 'x', false)).toBeGreaterThan(0);
    expect(failures.retryAfter('203.0.113.9', 'x')).toBeGreaterThan(0);
    expect(await other.failed('203.0.113.9', 'y', false)).toBeGreaterThan(0);
  });

  it('keeps counting on this instance while the shared store does not answer (never a 503 for a failed login)', async () => {
    const down = new (class extends MemoryKvStore {
      override hit(): Promise<never> {
        return Promise.reject(new Error('down'));
      }
    })(clock) as KvStore;
    const degraded = new FailedClientLogins(down, clock);
    for (let i = 0; i < FAILED_LOGINS_PER_IP; i++)
      expect(await degraded.failed('203.0.113.10', 'a', true)).toBe(0);
    expect(await degraded.failed('203.0.113.10', 'a', true)).toBeGreaterThan(0);
  });

  it('keys a client id by its hash: any length or character is one short key', async () => {
    const keys: string[] = [];
    const spy = jest.spyOn(store, 'hit').mockImplementation((key: string, windowMs: number) => {
      keys.push(key);
      return MemoryKvStore.prototype.hit.call(store, key, windowMs);
    });
    await failures.failed('203.0.113.11', `${'x'.repeat(5000)}\n:*`, false);
    spy.mockRestore();
    expect(keys).toEqual([
      'svc:fail:ip:203.0.113.11',
      expect.stringMatching(/^svc:fail:id:[A-Za-z0-9_-]{22}$/),
    ]);
  });
});
