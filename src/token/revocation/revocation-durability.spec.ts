import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { FakeClock } from '../../common/clock/fake-clock';
import { AppException } from '../../common/errors/app.exception';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import { createInMemoryDataSource, transactionRunnerFor } from '../../testing/in-memory-database';
import { testConfig } from '../../testing/test-config';
import { RevocationArchive } from './revocation-archive';
import { DURABLE_POLL_MS, RevocationService } from './revocation.service';

/**
 * Hardening round 2, finding 4: an acknowledged revocation holds on every instance — including ones started
 * later and after Redis restarted empty — and one that cannot be made durable is refused.
 */
describe('RevocationService with its durable archive (in-memory SQLite)', () => {
  const USER = '0f0e0d0c-0b0a-4090-8070-605040302010';
  let dataSource: DataSource;
  let clock: FakeClock;
  let archive: RevocationArchive;
  const config = testConfig({ ACCESS_TOKEN_TTL: '900' });

  beforeEach(async () => {
    for (const m of ['log', 'warn', 'error'] as const)
      jest.spyOn(Logger.prototype, m).mockImplementation(() => undefined);
    dataSource = await createInMemoryDataSource();
    clock = new FakeClock(Date.UTC(2026, 11, 6));
    archive = new RevocationArchive(dataSource, transactionRunnerFor(dataSource, clock));
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await dataSource.destroy();
  });

  const instance = async (store = new MemoryKvStore(clock)) => {
    const r = new RevocationService(store, clock, config, archive);
    await r.onModuleInit();
    return r;
  };

  it('an instance started after Redis restarted empty still refuses the revoked tokens (loaded from the database)', async () => {
    const a = await instance();
    const token = { userId: USER, sessionId: '11111111-1111-4111-8111-111111111111', userEpoch: clock.now() };
    clock.advance(5);
    await a.revokeUser(USER);
    await a.revokeSession('22222222-2222-4222-8222-222222222222');
    a.onModuleDestroy();

    const later = await instance(new MemoryKvStore(clock)); // an empty store: Redis restarted
    expect(later.isRevoked(token)).toBe(true);
    expect(
      later.isRevoked({ userId: 'x', sessionId: '22222222-2222-4222-8222-222222222222', userEpoch: 0 }),
    ).toBe(true);
    later.onModuleDestroy();
  });

  it('with the in-process store, a revocation another process wrote to the database (the CLI) holds here within the poll', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const server = await instance(); // the running service, in-process store
      const token = {
        userId: USER,
        sessionId: '33333333-3333-4333-8333-333333333333',
        userEpoch: clock.now(),
      };
      clock.advance(5);
      const cli = await instance(); // another process: its own in-process store, the same database
      await cli.revokeUser(USER);
      cli.onModuleDestroy();
      expect(server.isRevoked(token)).toBe(false);
      await jest.advanceTimersByTimeAsync(DURABLE_POLL_MS);
      expect(server.isRevoked(token)).toBe(true);
      server.onModuleDestroy();
    } finally {
      jest.useRealTimers();
    }
  });

  it('a revocation whose database write fails is refused (rejects) and never acknowledged', async () => {
    const a = await instance();
    jest.spyOn(archive, 'save').mockRejectedValueOnce(new AppException('DATABASE_UNAVAILABLE'));
    await expect(a.revokeUser(USER)).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    a.onModuleDestroy();
  });

  it('a repeated change republishes the latest revocation as it is: reaching a Redis that lost it, no new epoch', async () => {
    const store = new MemoryKvStore(clock);
    const a = await instance(store);
    await a.revokeUser(USER);
    const epoch = await a.epochFor(USER);
    const emptied = new MemoryKvStore(clock); // what the retry finds: Redis restarted empty
    const b = await instance(emptied);
    const published: string[] = [];
    await emptied.subscribe(
      'revocations',
      (m) => published.push(m),
      () => undefined,
    );
    clock.advance(1000);
    await b.republishUser(USER);
    expect(published.map((m) => (JSON.parse(m) as { validAfter: number }).validAfter)).toEqual([epoch]);
    expect(await b.epochFor(USER)).toBe(epoch);
    a.onModuleDestroy();
    b.onModuleDestroy();
  });

  it('the archive only tightens (a late save never lowers an epoch) and purges expired rows', async () => {
    const until = clock.now() + 60_000;
    await archive.save({ kind: 'u', id: USER, validAfter: 200, until });
    await archive.save({ kind: 'u', id: USER, validAfter: 100, until: until - 1 });
    expect(await archive.latestForUser(USER, clock.now())).toEqual({
      kind: 'u',
      id: USER,
      validAfter: 200,
      until,
    });
    expect(await archive.purge(until + 1)).toBe(1);
    expect(await archive.load(clock.now())).toEqual([]);
  });
});
