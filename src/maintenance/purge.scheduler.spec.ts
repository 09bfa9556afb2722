import { Logger } from '@nestjs/common';
import { FakeIntervalTimer } from '../testing/fake-interval-timer';
import { PURGE_INTERVAL_MS, PurgeScheduler } from './purge.scheduler';

describe('PurgeScheduler', () => {
  let timer: FakeIntervalTimer;
  let calls: number;
  let finish: Array<(n: number) => void>;
  let fail: Array<(e: Error) => void>;
  let scheduler: PurgeScheduler;
  let others: string[];
  let warnings: string[];

  beforeEach(() => {
    timer = new FakeIntervalTimer();
    calls = 0;
    finish = [];
    fail = [];
    others = [];
    const audit = {
      name: 'audit retention',
      run: () =>
        new Promise<number>((resolve, reject) => {
          calls++;
          finish.push(resolve);
          fail.push(reject);
        }),
    };
    const sessions = {
      name: 'expired refresh tokens',
      run: () => (others.push('sessions'), Promise.resolve(2)),
    };
    scheduler = new PurgeScheduler([audit, sessions], timer);
    warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((m: unknown) => void warnings.push(String(m)));
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  const flush = () => new Promise((resolve) => setImmediate(resolve));

  it('purges at start, then every 6 hours, never two at once', async () => {
    scheduler.onApplicationBootstrap();
    expect(calls).toBe(1);
    expect(timer.timers.map((t) => t.ms)).toEqual([PURGE_INTERVAL_MS]);
    expect(PURGE_INTERVAL_MS).toBe(6 * 3600 * 1000);

    timer.tick(); // the start-up purge is still running: not doubled
    expect(calls).toBe(1);
    finish[0](3);
    await flush();

    timer.tick();
    expect(calls).toBe(2);
    finish[1](0);
    await flush();
  });

  it('logs a failed purge without rethrowing, and tries again at the next tick', async () => {
    scheduler.onApplicationBootstrap();
    fail[0](new Error('SQLITE_BUSY: database is locked'));
    await flush();
    expect(warnings).toEqual(['audit retention purge failed (Error); retrying later']);
    // One purge failing does not keep the next from running.
    expect(others).toEqual(['sessions']);
    timer.tick();
    expect(calls).toBe(2);
  });

  it('on module destroy stops the timer and waits for the purge in flight', async () => {
    scheduler.onApplicationBootstrap();
    let destroyed = false;
    const destroying = scheduler.onModuleDestroy().then(() => (destroyed = true));
    await flush();
    expect(destroyed).toBe(false);
    expect(timer.timers[0].cancelled).toBe(true);
    finish[0](0);
    await destroying;
    timer.tick();
    expect(calls).toBe(1);
  });
});
