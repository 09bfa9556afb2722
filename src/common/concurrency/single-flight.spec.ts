import { FakeClock } from '../clock/fake-clock';
import { SingleFlight } from './single-flight';

describe('SingleFlight', () => {
  let clock: FakeClock;
  let flights: SingleFlight<string>;
  let runs: number;
  /** Work that takes `ms` of fake time and then answers (or fails with) `outcome`. */
  const work = (ms: number, outcome: string | Error) => async () => {
    runs++;
    await clock.sleep(ms);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };

  beforeEach(() => {
    clock = new FakeClock();
    flights = new SingleFlight<string>();
    runs = 0;
  });

  it('callers of one key during a run share it: one run, one value for all', async () => {
    const all = Promise.all([
      flights.run('k', work(100, 'a')),
      flights.run('k', work(100, 'b')),
      flights.run('k', work(100, 'c')),
    ]);
    expect(runs).toBe(1);
    expect(flights.size).toBe(1);
    clock.advance(100);
    await expect(all).resolves.toEqual(['a', 'a', 'a']);
  });

  it('different keys run apart', async () => {
    const both = Promise.all([flights.run('k1', work(10, 'a')), flights.run('k2', work(10, 'b'))]);
    expect(runs).toBe(2);
    clock.advance(10);
    await expect(both).resolves.toEqual(['a', 'b']);
  });

  it('every joined caller gets the error of a failed run', async () => {
    const boom = new Error('boom');
    const first = flights.run('k', work(10, boom));
    const second = flights.run('k', work(10, 'never'));
    clock.advance(10);
    await expect(first).rejects.toBe(boom);
    await expect(second).rejects.toBe(boom);
    expect(runs).toBe(1);
  });

  it('nothing is cached: once a run settles (either way) the key is free and the next call runs again', async () => {
    const first = flights.run('k', work(10, new Error('x')));
    clock.advance(10);
    await expect(first).rejects.toThrow('x');
    expect(flights.size).toBe(0);
    expect(flights.current('k')).toBeUndefined();
    const second = flights.run('k', work(10, 'b'));
    clock.advance(10);
    await expect(second).resolves.toBe('b');
    expect(runs).toBe(2);
  });

  it('current: the run in progress, for a caller that joins differently', async () => {
    expect(flights.current('k')).toBeUndefined();
    const leader = flights.run('k', work(10, 'a'));
    expect(flights.current('k')).toBe(leader);
    clock.advance(10);
    await leader;
  });

  it('a synchronous throw is the run outcome for its caller, and frees the key', async () => {
    await expect(
      flights.run('k', () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(flights.size).toBe(0);
  });
});
