import { Logger } from '@nestjs/common';
import { FakeClock } from '../../common/clock/fake-clock';
import { SystemClock } from '../../common/clock/system-clock';
import { AppException } from '../../common/errors/app.exception';
import { KvStore } from '../../common/store/kv-store';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import { deferred, flush } from '../../testing/async';
import { testConfig } from '../../testing/test-config';
import { RevocationService } from './revocation.service';

const TTL = 900;
// 12:00:00.400 UTC
const START = Date.UTC(2026, 0, 1, 12, 0, 0, 400);

async function setup() {
  const clock = new FakeClock(START);
  const store = new MemoryKvStore(clock);
  const config = testConfig({ ACCESS_TOKEN_TTL: String(TTL) });
  const newInstance = async () => {
    const r = new RevocationService(store, clock, config);
    await r.onModuleInit();
    return r;
  };
  return { clock, store, config, a: await newInstance(), newInstance };
}

const token = (over: Partial<{ userId: string; sessionId: string; userEpoch: number }> = {}) => ({
  userId: 'u1',
  sessionId: 's1',
  userEpoch: 0,
  ...over,
});

/** The guard's 503: SERVICE_UNAVAILABLE with Retry-After, thrown synchronously by `isRevoked`. */
function expect503(check: () => unknown): void {
  let thrown: unknown;
  try {
    check();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(AppException);
  expect(thrown).toMatchObject({ code: 'SERVICE_UNAVAILABLE', extras: { retryAfter: 5 } });
  expect((thrown as AppException).getStatus()).toBe(503);
}

describe('RevocationService', () => {
  it('revoking a user stops the tokens issued under an earlier epoch, at once, on this instance', async () => {
    const { a } = await setup();
    expect(a.isRevoked(token())).toBe(false);
    await a.revokeUser('u1');
    expect(a.isRevoked(token())).toBe(true);
    expect(a.isRevoked(token({ userId: 'u2' }))).toBe(false);
  });

  it('tokens issued afterwards carry the new epoch and pass', async () => {
    const { a } = await setup();
    await a.revokeUser('u1');
    const epoch = await a.epochFor('u1');
    expect(epoch).toBe(START);
    expect(a.isRevoked(token({ userEpoch: epoch }))).toBe(false);
    expect(await a.epochFor('u2')).toBe(0);
  });

  it('a second revocation in the same millisecond still stops a token issued between the two', async () => {
    const { a } = await setup();
    await a.revokeUser('u1');
    const between = await a.epochFor('u1');
    await a.revokeUser('u1');
    expect(a.isRevoked(token({ userEpoch: between }))).toBe(true);
    expect(a.isRevoked(token({ userEpoch: await a.epochFor('u1') }))).toBe(false);
  });

  it('an issuer reading the epoch before a racing revocation gets a token that the revocation stops', async () => {
    const { a, newInstance } = await setup();
    const b = await newInstance();
    // Instance B starts a refresh: epoch first, then (old) roles/status; meanwhile A revokes.
    const readByB = await b.epochFor('u1');
    await a.revokeUser('u1');
    expect(b.isRevoked(token({ userEpoch: readByB }))).toBe(true);
  });

  it('uppercase ids (MySQL matches them) revoke the lowercase ids tokens carry', async () => {
    const { a } = await setup();
    await a.revokeUser('U1');
    await a.revokeSession('S9');
    expect(a.isRevoked(token())).toBe(true);
    expect(a.isRevoked(token({ userId: 'u3', sessionId: 's9' }))).toBe(true);
  });

  it('revoking a session stops all of its tokens, whatever their epoch, and no other session', async () => {
    const { a } = await setup();
    await a.revokeSession('s1');
    expect(a.isRevoked(token())).toBe(true);
    expect(a.isRevoked(token({ userEpoch: Number.MAX_SAFE_INTEGER }))).toBe(true);
    expect(a.isRevoked(token({ sessionId: 's2' }))).toBe(false);
  });

  it('reaches every instance sharing the store (published), and instances started later (stored)', async () => {
    const { a, newInstance } = await setup();
    const b = await newInstance();
    await a.revokeUser('u1');
    await b.revokeSession('s9');
    expect(b.isRevoked(token())).toBe(true);
    expect(a.isRevoked(token({ userId: 'u3', sessionId: 's9' }))).toBe(true);
    const late = await newInstance();
    expect(late.isRevoked(token())).toBe(true);
    expect(late.isRevoked(token({ userId: 'u3', sessionId: 's9' }))).toBe(true);
  });

  it('forgets an entry once every token it could stop has expired; a later revocation is still above old epochs', async () => {
    const { a, clock, newInstance } = await setup();
    await a.revokeUser('u1');
    const old = await a.epochFor('u1');
    clock.advance((TTL + 60) * 1000);
    expect(a.isRevoked(token())).toBe(false);
    expect((await newInstance()).isRevoked(token())).toBe(false);
    await a.revokeUser('u1');
    expect(a.isRevoked(token({ userEpoch: old }))).toBe(true);
  });

  it('a later revocation wins over an earlier one; an old message cannot loosen it', async () => {
    const { a, store, clock } = await setup();
    await a.revokeUser('u1');
    clock.advance(5000);
    await a.revokeUser('u1');
    const first = START;
    expect(a.isRevoked(token({ userEpoch: first }))).toBe(true);
    await store.publish(
      'revocations',
      JSON.stringify({ kind: 'u', id: 'u1', validAfter: 1, until: clock.now() + 60_000 }),
    );
    expect(a.isRevoked(token({ userEpoch: first }))).toBe(true);
  });

  it('ignores garbage on the channel', async () => {
    const { a, store } = await setup();
    await store.publish('revocations', 'not json');
    await store.publish('revocations', JSON.stringify({ kind: 'x', id: 'u1', validAfter: 1 }));
    expect(a.isRevoked(token())).toBe(false);
  });

  it('answers 503 while the store cannot be read at start (no grace), and loads the entries once it can', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    try {
      const { store, clock, config, a } = await setup();
      await a.revokeUser('u1');
      jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const entries = jest.spyOn(store, 'entries').mockRejectedValue(new Error('down'));
      const b = new RevocationService(store, clock, config);
      await expect(b.onModuleInit()).resolves.toBeUndefined();
      // It never read the entries: it knows nothing, so it accepts nothing.
      expect503(() => b.isRevoked(token({ userId: 'u2' })));
      entries.mockRestore();
      // Retried every 2 s.
      await jest.advanceTimersByTimeAsync(2000);
      await flush();
      expect(b.isRevoked(token())).toBe(true);
      expect(b.isRevoked(token({ userId: 'u2' }))).toBe(false);
      b.onModuleDestroy();
    } finally {
      jest.useRealTimers();
      jest.restoreAllMocks();
    }
  });
});

const refused = () => new AppException('SERVICE_UNAVAILABLE', { retryAfter: 5 });

/**
 * A Redis several instances share, with its failures: down for everyone (`stop`), back (`start`, empty
 * when it restarted without persistence), subscriptions re-established (`resubscribe`, what ioredis does
 * by itself a moment after the server is back), or one instance's connection cut (`Connection.cut`).
 */
class FakeRedis {
  data: MemoryKvStore;
  up = true;
  readonly connections: Connection[] = [];

  constructor(private readonly clock: SystemClock) {
    this.data = new MemoryKvStore(clock);
  }

  connect(): Connection {
    const c = new Connection(this);
    this.connections.push(c);
    return c;
  }

  /** Down (or paused, and the heartbeat noticed): commands fail, every subscription is lost. */
  stop(): void {
    this.up = false;
    for (const c of this.connections) c.lose();
  }

  /** Answers commands again; subscriptions come back with `resubscribe`. */
  start(opts: { empty?: boolean } = {}): void {
    if (opts.empty) this.data = new MemoryKvStore(this.clock);
    this.up = true;
  }

  resubscribe(): void {
    for (const c of this.connections) c.resume();
  }
}

/** One instance's view of FakeRedis, as RedisKvStore presents it (a refused command throws 503). */
class Connection extends KvStore {
  readonly kind = 'redis' as const;
  reachable = true;
  private feed?: {
    channel: string;
    onMessage: (m: string) => void;
    onResync: () => void;
    onLost: () => void;
  };
  private subscribed = false;

  constructor(private readonly redis: FakeRedis) {
    super();
  }

  private run<T>(op: (data: MemoryKvStore) => Promise<T>): Promise<T> {
    return this.answers() ? op(this.redis.data) : Promise.reject(refused());
  }

  private answers(): boolean {
    return this.redis.up && this.reachable;
  }

  get(key: string) {
    return this.run((d) => d.get(key));
  }
  set(key: string, value: string, ttlMs: number) {
    return this.run((d) => d.set(key, value, ttlMs));
  }
  setIfAbsent(key: string, value: string, ttlMs: number) {
    return this.run((d) => d.setIfAbsent(key, value, ttlMs));
  }
  increment(key: string, ttlMs: number, by?: number) {
    return this.run((d) => d.increment(key, ttlMs, by));
  }
  ttl(key: string) {
    return this.run((d) => d.ttl(key));
  }
  delete(key: string) {
    return this.run((d) => d.delete(key));
  }
  deleteIfEquals(key: string, value: string) {
    return this.run((d) => d.deleteIfEquals(key, value));
  }
  entries(prefix: string) {
    return this.run((d) => d.entries(prefix));
  }
  ping() {
    return this.run(() => Promise.resolve());
  }
  publish(channel: string, message: string) {
    return this.run(async () => {
      for (const c of this.redis.connections) c.deliver(channel, message);
    });
  }

  /** Like RedisKvStore: kept even when rejected at first, and active (onResync) once Redis confirmed it. */
  subscribe(
    channel: string,
    onMessage: (m: string) => void,
    onResync: () => void,
    onLost: () => void = () => undefined,
  ): Promise<void> {
    this.feed = { channel, onMessage, onResync, onLost };
    if (!this.answers()) return Promise.reject(refused());
    this.subscribed = true;
    onResync();
    return Promise.resolve();
  }

  deliver(channel: string, message: string): void {
    if (this.subscribed && this.feed?.channel === channel) this.feed.onMessage(message);
  }

  /** The subscription stopped delivering (connection closed, heartbeat unanswered). */
  lose(): void {
    if (!this.subscribed) return;
    this.subscribed = false;
    this.feed!.onLost();
  }

  resume(): void {
    if (!this.feed || this.subscribed || !this.answers()) return;
    this.subscribed = true;
    this.feed.onResync();
  }

  /** Only this instance loses Redis (its commands fail, its feed is lost). */
  cut(): void {
    this.reachable = false;
    this.lose();
  }

  reconnect(): void {
    this.reachable = true;
    this.resume();
  }
}

interface LogLine {
  level: 'log' | 'warn' | 'error' | 'debug';
  alert?: string;
  msg: string;
  fields?: Record<string, unknown>;
}

function captureLogs(): LogLine[] {
  const lines: LogLine[] = [];
  for (const level of ['log', 'warn', 'error', 'debug'] as const)
    jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
      const [first, second] = args;
      const fields =
        typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : undefined;
      lines.push({
        level,
        alert: fields?.alert as string | undefined,
        msg: typeof second === 'string' ? second : String(first),
        fields,
      });
    });
  return lines;
}

const alerts = (lines: LogLine[]) => lines.map((l) => l.alert).filter((a) => a !== undefined);

describe('RevocationService when Redis fails', () => {
  // Jest's fake timers fake Date too: the service's clock (SystemClock) and its retry timer (2 s, unref'd)
  // move together, and only when the test says so.
  const GRACE_MS = 30_000;
  let clock: SystemClock;
  let redis: FakeRedis;
  let logs: LogLine[];
  let started: RevocationService[];

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'], now: START });
    clock = new SystemClock();
    redis = new FakeRedis(clock);
    logs = captureLogs();
    started = [];
  });

  afterEach(() => {
    for (const r of started) r.onModuleDestroy();
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  /** Grace from the default config (REDIS_OUTAGE_GRACE_S unset: 30 s) unless `env` says otherwise. */
  async function instance(env: Record<string, string> = {}) {
    const conn = redis.connect();
    const r = new RevocationService(conn, clock, testConfig({ ACCESS_TOKEN_TTL: String(TTL), ...env }));
    started.push(r);
    await r.onModuleInit();
    return Object.assign(r, { conn });
  }

  /** Time passes: retry timers fire on the way, and what they started settles. */
  async function elapse(ms: number): Promise<void> {
    await jest.advanceTimersByTimeAsync(ms);
    await flush();
  }

  it('accepts tokens for the grace after the feed is lost, answers 503 after it, and recovers once the feed is back', async () => {
    const a = await instance();
    expect(a.isRevoked(token())).toBe(false);
    redis.stop();
    await elapse(GRACE_MS);
    expect(a.isRevoked(token())).toBe(false);
    await elapse(1);
    expect503(() => a.isRevoked(token()));
    redis.start();
    await elapse(2000);
    // Commands answer again, but the feed is not back: re-reads renew the grace, they do not end the outage.
    expect(a.isRevoked(token())).toBe(false);
    redis.resubscribe();
    await flush();
    expect(a.isRevoked(token())).toBe(false);
    // In sync: no grace counting any more.
    await elapse(10 * GRACE_MS);
    expect(a.isRevoked(token())).toBe(false);
  });

  it('the grace is REDIS_OUTAGE_GRACE_S', async () => {
    const a = await instance({ REDIS_OUTAGE_GRACE_S: '5' });
    redis.stop();
    await elapse(5000);
    expect(a.isRevoked(token())).toBe(false);
    await elapse(1);
    expect503(() => a.isRevoked(token()));
  });

  it('a revocation made while this instance was cut off is enforced here once its feed is back', async () => {
    const a = await instance();
    const b = await instance();
    a.conn.cut();
    await b.revokeUser('u1');
    await b.revokeSession('s7');
    // Missed (the bound is the grace) ...
    expect(a.isRevoked(token())).toBe(false);
    a.conn.reconnect();
    await flush();
    // ... and re-read when the subscription is back.
    expect(a.isRevoked(token())).toBe(true);
    expect(a.isRevoked(token({ userId: 'u3', sessionId: 's7' }))).toBe(true);
  });

  it('while only the feed is down and the store answers, the re-read every 2 s renews the grace and picks up revocations', async () => {
    const a = await instance();
    const b = await instance();
    a.conn.lose();
    await elapse(3 * GRACE_MS);
    expect(a.isRevoked(token())).toBe(false);
    await b.revokeSession('s1');
    // Not delivered (a's subscription is down), but read from the store within one retry.
    expect(a.isRevoked(token())).toBe(false);
    await elapse(2000);
    expect(a.isRevoked(token())).toBe(true);
  });

  it('a re-read overlapping a new loss of the feed does not count as in sync', async () => {
    const a = await instance();
    redis.stop();
    await elapse(10_000);
    redis.start();
    const read = deferred<Array<[string, string]>>();
    jest.spyOn(a.conn, 'entries').mockImplementationOnce(() => read.promise);
    redis.resubscribe();
    // Lost again before the re-read came back.
    a.conn.cut();
    read.resolve([]);
    await flush();
    // Known complete as of that read's start (10 s into the outage), not in sync: the grace runs from there.
    await elapse(GRACE_MS);
    expect(a.isRevoked(token())).toBe(false);
    await elapse(1);
    expect503(() => a.isRevoked(token()));
  });

  it('an instance that never loaded the entries answers 503 at once (no grace), until its subscription comes up', async () => {
    const a = await instance();
    await a.revokeUser('u1');
    redis.stop();
    const b = await instance();
    expect503(() => b.isRevoked(token({ userId: 'u2' })));
    // Retries (every 2 s) keep failing while Redis is down.
    await elapse(4000);
    expect503(() => b.isRevoked(token({ userId: 'u2' })));
    redis.start();
    redis.resubscribe();
    await flush();
    expect(b.isRevoked(token())).toBe(true);
    expect(b.isRevoked(token({ userId: 'u2' }))).toBe(false);
  });

  it('an instance that loaded the entries without a subscription yet has the grace from that read', async () => {
    const a = await instance();
    await a.revokeUser('u1');
    // Only the subscription fails (the subscriber connection is not up yet); reads work.
    const conn = redis.connect();
    jest.spyOn(conn, 'subscribe').mockRejectedValueOnce(refused());
    const b = new RevocationService(conn, clock, testConfig({ ACCESS_TOKEN_TTL: String(TTL) }));
    started.push(b);
    await b.onModuleInit();
    expect(b.isRevoked(token())).toBe(true);
    expect(b.isRevoked(token({ userId: 'u2' }))).toBe(false);
  });

  it('a token known to be revoked is reported revoked (true, not 503), however stale the replica', async () => {
    const a = await instance();
    await a.revokeUser('u1');
    const epoch = await a.epochFor('u1');
    await a.revokeSession('s9');
    redis.stop();
    await elapse(10 * GRACE_MS);
    expect(a.isRevoked(token())).toBe(true);
    expect(a.isRevoked(token({ userId: 'u5', sessionId: 's9' }))).toBe(true);
    // Issued under the new epoch, in no revoked session: nothing known against it, and the replica is stale.
    expect503(() => a.isRevoked(token({ userEpoch: epoch })));
  });

  it('a revocation the store refuses is enforced here at once, rethrown, and pushed to the store and the other instances once it answers', async () => {
    const a = await instance();
    const b = await instance();
    // a's commands fail (its main connection, say), its subscription still looks up.
    a.conn.reachable = false;
    await expect(a.revokeSession('s1')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(a.isRevoked(token())).toBe(true);
    expect(b.isRevoked(token())).toBe(false);
    await elapse(2000);
    await elapse(2000);
    await expect(redis.data.get('revoke:sid:s1')).resolves.toBeNull();
    a.conn.reachable = true;
    await elapse(2000);
    const stored = JSON.parse((await redis.data.get('revoke:sid:s1'))!);
    expect(stored).toMatchObject({ kind: 's', id: 's1', validAfter: 0 });
    expect(b.isRevoked(token())).toBe(true);
    expect((await instance()).isRevoked(token())).toBe(true);
    // Pushed once, then no more retries.
    const publish = jest.spyOn(a.conn, 'publish');
    await elapse(10_000);
    expect(publish).not.toHaveBeenCalled();
  });

  it('a user revocation made past the grace is still enforced here at once and pushed once Redis is back', async () => {
    const a = await instance();
    const b = await instance();
    redis.stop();
    await elapse(GRACE_MS + 1);
    await expect(a.revokeUser('u1')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    // Known revoked here: 401, not the stale replica's 503.
    expect(a.isRevoked(token({ userEpoch: START }))).toBe(true);
    redis.start();
    redis.resubscribe();
    await elapse(2000);
    expect(JSON.parse((await redis.data.get('revoke:user:u1'))!)).toMatchObject({ kind: 'u', id: 'u1' });
    expect(b.isRevoked(token({ userEpoch: START }))).toBe(true);
    expect((await instance()).isRevoked(token({ userEpoch: START }))).toBe(true);
  });

  it('a revocation stored but not broadcast is published later, without overwriting the stored entry', async () => {
    const a = await instance();
    const b = await instance();
    jest.spyOn(a.conn, 'publish').mockRejectedValueOnce(refused());
    await expect(a.revokeUser('u1')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(a.isRevoked(token())).toBe(true);
    expect(b.isRevoked(token())).toBe(false);
    const setIfAbsent = jest.spyOn(a.conn, 'setIfAbsent');
    await elapse(2000);
    expect(setIfAbsent).toHaveBeenCalledTimes(1);
    await expect(setIfAbsent.mock.results[0].value).resolves.toBe(false);
    expect(b.isRevoked(token())).toBe(true);
  });

  it('writes every live entry back to a Redis that restarted empty, and SET NX never overwrites a newer entry', async () => {
    const a = await instance();
    const b = await instance();
    await a.revokeSession('s-old');
    await elapse((TTL + 60) * 1000);
    await a.revokeUser('u1');
    const firstEpoch = await a.epochFor('u1');
    await b.revokeSession('s1');
    redis.stop();
    redis.start({ empty: true });
    // An instance reaching the new Redis first revokes u1 again; a and b miss it (not subscribed yet).
    const c = await instance();
    await elapse(5);
    await c.revokeUser('u1');
    const newerEpoch = await c.epochFor('u1');
    expect(newerEpoch).toBeGreaterThan(firstEpoch);
    const issuedBetween = token({ userEpoch: firstEpoch, sessionId: 's2' });
    expect(a.isRevoked(issuedBetween)).toBe(false);

    redis.resubscribe();
    await flush();
    // u1: c's newer entry kept (and re-read by a and b); s1 restored; s-old had expired: not restored.
    expect(JSON.parse((await redis.data.get('revoke:user:u1'))!).validAfter).toBe(newerEpoch);
    expect(await redis.data.get('revoke:sid:s1')).not.toBeNull();
    expect(await redis.data.get('revoke:sid:s-old')).toBeNull();
    for (const r of [a, b, c]) {
      expect(r.isRevoked(issuedBetween)).toBe(true);
      // c learnt s1 from the write-back's publish.
      expect(r.isRevoked(token({ userId: 'u9', sessionId: 's1' }))).toBe(true);
    }
    expect((await instance()).isRevoked(token({ userId: 'u9', sessionId: 's1' }))).toBe(true);
    const restored = logs.filter((l) => l.alert === 'REVOCATIONS_RESTORED');
    expect(restored).toEqual([
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ restored: 1 }) }),
    ]);
  });

  it('epochFor falls back to the replica while it is usable, and fails after the grace', async () => {
    const a = await instance();
    await a.revokeUser('u1');
    const epoch = await a.epochFor('u1');
    // In sync, but a command fails.
    a.conn.reachable = false;
    await expect(a.epochFor('u1')).resolves.toBe(epoch);
    await expect(a.epochFor('u2')).resolves.toBe(0);
    a.conn.reachable = true;
    redis.stop();
    await elapse(GRACE_MS);
    await expect(a.epochFor('U1')).resolves.toBe(epoch);
    // A revocation in the grace is still above the previous epoch (and refused by the store: 503).
    await expect(a.revokeUser('u1')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(a.isRevoked(token({ userEpoch: epoch }))).toBe(true);
    await elapse(1);
    await expect(a.epochFor('u1')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('logs each outage once: feed lost, not loaded, stale, restored; and the feed coming back', async () => {
    const a = await instance();
    await a.revokeSession('s1');
    expect(logs).toEqual([]);
    redis.stop();
    await elapse(GRACE_MS + 1);
    for (let i = 0; i < 3; i++) expect503(() => a.isRevoked(token({ sessionId: 's2' })));
    await elapse(10_000);
    expect503(() => a.isRevoked(token({ sessionId: 's2' })));
    expect(alerts(logs)).toEqual(['REVOCATION_FEED_LOST', 'REVOCATIONS_NOT_LOADED', 'REVOCATIONS_STALE']);
    expect(logs.find((l) => l.alert === 'REVOCATION_FEED_LOST')).toMatchObject({
      level: 'warn',
      fields: { graceSeconds: 30 },
    });
    expect(logs.find((l) => l.alert === 'REVOCATIONS_STALE')?.level).toBe('error');

    redis.start({ empty: true });
    redis.resubscribe();
    await flush();
    expect(a.isRevoked(token({ sessionId: 's2' }))).toBe(false);
    expect(alerts(logs).slice(3)).toEqual(['REVOCATIONS_RESTORED']);
    expect(logs.filter((l) => /feed back/.test(l.msg))).toHaveLength(1);

    // The next outage is logged again.
    redis.stop();
    await elapse(GRACE_MS + 1);
    expect503(() => a.isRevoked(token({ sessionId: 's2' })));
    expect(alerts(logs).slice(4)).toEqual([
      'REVOCATION_FEED_LOST',
      'REVOCATIONS_NOT_LOADED',
      'REVOCATIONS_STALE',
    ]);
  });

  it('a write-back that fails part-way is retried (every 2 s) until the store has every entry', async () => {
    const a = await instance();
    await a.revokeSession('s1');
    await a.revokeSession('s2');
    redis.stop();
    redis.start({ empty: true });
    // The first write-back command times out (Redis busy loading, a dropped packet): nothing else fails.
    const setIfAbsent = jest.spyOn(a.conn, 'setIfAbsent').mockRejectedValueOnce(refused());
    redis.resubscribe();
    await flush();
    expect(a.isRevoked(token({ sessionId: 's3' }))).toBe(false);
    await elapse(2000);
    expect(await redis.data.get('revoke:sid:s1')).not.toBeNull();
    expect(await redis.data.get('revoke:sid:s2')).not.toBeNull();
    // Done: no more retries.
    setIfAbsent.mockClear();
    await elapse(10_000);
    expect(setIfAbsent).not.toHaveBeenCalled();
  });

  it('stops retrying once destroyed, also when a re-read was under way', async () => {
    const a = await instance();
    redis.stop();
    const read = deferred<Array<[string, string]>>();
    const entries = jest.spyOn(a.conn, 'entries').mockImplementationOnce(() => read.promise);
    await elapse(2000);
    expect(entries).toHaveBeenCalledTimes(1);
    a.onModuleDestroy();
    read.reject(refused());
    await elapse(10_000);
    expect(entries).toHaveBeenCalledTimes(1);
  });
});
