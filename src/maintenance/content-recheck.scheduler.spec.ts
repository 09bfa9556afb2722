import { Logger } from '@nestjs/common';
import type { AvatarRecheck } from '../wechat-auth/content/avatar-recheck';
import { CONTENT_RECHECK_INTERVAL_MS, ContentRecheckScheduler } from './content-recheck.scheduler';
import { FakeIntervalTimer } from '../testing/fake-interval-timer';

describe('ContentRecheckScheduler', () => {
  let timer: FakeIntervalTimer;
  let runs: Array<{ resolve: (n: number) => void; reject: (e: Error) => void }>;
  let scheduler: ContentRecheckScheduler;

  beforeEach(() => {
    timer = new FakeIntervalTimer();
    runs = [];
    const recheck = {
      runOnce: () => new Promise<number>((resolve, reject) => runs.push({ resolve, reject })),
    };
    scheduler = new ContentRecheckScheduler(recheck as unknown as AvatarRecheck, timer);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('runs every minute, never twice at once, and survives a failed run', async () => {
    scheduler.onApplicationBootstrap();
    expect(timer.timers.map((t) => t.ms)).toEqual([CONTENT_RECHECK_INTERVAL_MS]);
    expect(runs).toHaveLength(0);
    timer.tick();
    timer.tick();
    expect(runs).toHaveLength(1);
    runs[0].reject(new Error('db down'));
    // The run in flight: it resolves (the failure is logged, never thrown).
    await expect(scheduler.runOnce()).resolves.toBeUndefined();
    timer.tick();
    expect(runs).toHaveLength(2);
    runs[1].resolve(0);
    await scheduler.onModuleDestroy();
    expect(timer.timers[0].cancelled).toBe(true);
  });
});
