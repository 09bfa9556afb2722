import { Logger } from '@nestjs/common';
import { FakeClock } from '../common/clock/fake-clock';
import type { DatabasePing, StorePing } from './dependency-pings';
import { READINESS_CHECKS, Readiness } from './readiness.service';

describe('Readiness (fake time)', () => {
  let clock: FakeClock;
  let dbUp: boolean;
  let database: { ping: jest.Mock };
  let store: { ping: jest.Mock };
  let readiness: Readiness;
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;

  beforeEach(() => {
    clock = new FakeClock();
    dbUp = true;
    database = { ping: jest.fn(() => (dbUp ? Promise.resolve() : Promise.reject(new Error('down')))) };
    store = { ping: jest.fn(() => Promise.resolve({ kind: 'memory' })) };
    readiness = new Readiness(database as unknown as DatabasePing, store as unknown as StorePing, clock);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('reports every dependency up in the shape probes read', async () => {
    await expect(readiness.check()).resolves.toEqual({
      status: 'ok',
      info: { database: { status: 'up' }, store: { status: 'up', kind: 'memory' } },
      error: {},
      details: { database: { status: 'up' }, store: { status: 'up', kind: 'memory' } },
    });
  });

  it('a flood of probes over 5 s: 5 pings per dependency, one warning when it goes down, one line when back', async () => {
    for (let t = 0; t < 5000; t += 5) {
      if (t === 1000) dbUp = false;
      if (t === 3000) dbUp = true;
      await Promise.all([readiness.check(), readiness.check(), readiness.check()]);
      clock.advance(5);
    }
    expect(database.ping).toHaveBeenCalledTimes(5000 / READINESS_CHECKS.intervalMs);
    expect(store.ping).toHaveBeenCalledTimes(5000 / READINESS_CHECKS.intervalMs);
    expect(warn.mock.calls).toEqual([[{ down: ['database'] }, 'not ready: database not answering']]);
    expect(log.mock.calls).toEqual([['ready again (was down: database)']]);
  });
});
