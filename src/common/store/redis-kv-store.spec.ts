import { EventEmitter } from 'node:events';
import { Redis, ReplyError } from 'ioredis';
import { deferred, flush } from '../../testing/async';
import { PrivateRedis } from '../../testing/private-redis';
import { RedisKvStore } from './redis-kv-store';
import { StoreUnavailableError } from './store-unavailable.error';

/**
 * Two halves: the logic (fail-fast, suspicion and its probe, the subscription's resync/lost/heartbeat) against
 * a hand-written ioredis connection, step by step in fake time; then the same promises against a real
 * redis-server of this suite's own (never the shared one), paused with SIGSTOP and killed, to prove that
 * ioredis' real statuses, timeouts and error replies are what the logic expects.
 */

const TIMINGS = { heartbeatMs: 100, probeMs: 50, restartMs: 70 };

/** The store's failure: a StoreUnavailableError with a 5 s retry hint (answered 503 + Retry-After: 5). */
async function expect503(promise: Promise<unknown>): Promise<StoreUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreUnavailableError);
  expect(error).toMatchObject({ retryAfterSeconds: 5 });
  return error as StoreUnavailableError;
}

/** The part of an ioredis connection RedisKvStore uses; every command a jest.fn the test settles. */
class FakeConnection extends EventEmitter {
  status = 'ready';
  readonly get = jest.fn<Promise<string | null>, [string]>();
  readonly ping = jest.fn<Promise<string>, []>();
  readonly subscribe = jest.fn<Promise<number>, [string]>();
  readonly publish = jest.fn<Promise<number>, [string, string]>();
  readonly disconnect = jest.fn<void, [boolean?]>();
  readonly quit = jest.fn<Promise<string>, []>(() => Promise.resolve('OK'));
  readonly connect = jest.fn<Promise<void>, []>(() => Promise.resolve());
  /** The store defines its scripts as commands on the connection. */
  readonly defineCommand = jest.fn<void, [string, { numberOfKeys: number; lua: string }]>();
  readonly duplicates: FakeConnection[] = [];

  duplicate(): FakeConnection {
    const d = new FakeConnection();
    this.duplicates.push(d);
    return d;
  }

  asRedis(): Redis {
    return this as unknown as Redis;
  }
}

/** A connection to a Sentinel-monitored master: `options.sentinels` set. */
class FakeSentinelConnection extends FakeConnection {
  readonly options = { sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'm' };
}

const timedOut = () => new Error('Command timed out');

describe('RedisKvStore (fake connection)', () => {
  let client: FakeConnection;
  let store: RedisKvStore;

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    client = new FakeConnection();
    store = new RedisKvStore(client.asRedis(), 'p:', TIMINGS);
  });

  afterEach(async () => {
    await store.close();
    // Heartbeat and probe timers are all gone: nothing keeps running after the store is closed.
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  describe('failing fast', () => {
    it.each(['reconnecting', 'close', 'end'])(
      'refuses a command at once, without sending it, while ioredis is %s',
      async (status) => {
        client.status = status;
        expect(store.unavailable).toBe(true);
        await expect503(store.get('k'));
        // A health check is not answered from memory either, but is not queued.
        await expect503(store.ping());
        expect(client.get).not.toHaveBeenCalled();
        expect(client.ping).not.toHaveBeenCalled();
      },
    );

    it('sends commands while connected or connecting (ioredis queues until the first connection)', async () => {
      for (const status of ['ready', 'connect', 'connecting', 'wait']) {
        client.status = status;
        client.get.mockResolvedValueOnce('v');
        await expect(store.get('k')).resolves.toBe('v');
      }
      expect(client.get).toHaveBeenLastCalledWith('p:k');
    });

    it('a command without an answer makes the connection suspect: refused at once until a background PING answers', async () => {
      client.get.mockRejectedValueOnce(timedOut());
      const error = await expect503(store.get('k'));
      expect(error.cause).toEqual(timedOut());
      expect(store.unavailable).toBe(true);
      await expect503(store.get('k'));
      expect(client.get).toHaveBeenCalledTimes(1);

      // Probed every probeMs; a PING that fails too keeps it suspect, and probes again.
      expect(client.ping).not.toHaveBeenCalled();
      const first = deferred<string>();
      client.ping.mockReturnValueOnce(first.promise);
      await jest.advanceTimersByTimeAsync(TIMINGS.probeMs);
      expect(client.ping).toHaveBeenCalledTimes(1);
      // One probe at a time: none while the first is unanswered.
      await jest.advanceTimersByTimeAsync(5 * TIMINGS.probeMs);
      expect(client.ping).toHaveBeenCalledTimes(1);
      first.reject(timedOut());
      await flush();
      expect(store.unavailable).toBe(true);
      client.ping.mockResolvedValueOnce('PONG');
      await jest.advanceTimersByTimeAsync(TIMINGS.probeMs);
      expect(client.ping).toHaveBeenCalledTimes(2);
      await flush();
      expect(store.unavailable).toBe(false);
      client.get.mockResolvedValueOnce('v');
      await expect(store.get('k')).resolves.toBe('v');
      // No more probing once it answers.
      await jest.advanceTimersByTimeAsync(10 * TIMINGS.probeMs);
      expect(client.ping).toHaveBeenCalledTimes(2);
    });

    it('a (re)connection clears the suspicion', async () => {
      client.get.mockRejectedValueOnce(timedOut());
      await expect503(store.get('k'));
      expect(store.unavailable).toBe(true);
      client.emit('ready');
      expect(store.unavailable).toBe(false);
    });

    it('ping is a real PING while suspect (the honest answer for /health); its success clears the suspicion', async () => {
      client.get.mockRejectedValueOnce(timedOut());
      await expect503(store.get('k'));
      client.ping.mockRejectedValueOnce(timedOut());
      await expect503(store.ping());
      expect(client.ping).toHaveBeenCalledTimes(1);
      client.ping.mockResolvedValueOnce('PONG');
      await expect(store.ping()).resolves.toBeUndefined();
      expect(store.unavailable).toBe(false);
    });

    it('an error reply from Redis is a 503 for that command only: the connection is not suspect', async () => {
      client.get.mockRejectedValueOnce(
        new ReplyError('WRONGTYPE Operation against a key holding the wrong kind'),
      );
      await expect503(store.get('k'));
      expect(store.unavailable).toBe(false);
      client.get.mockResolvedValueOnce('v');
      await expect(store.get('k')).resolves.toBe('v');
    });

    it('a connection ioredis gave up on (end) is connected again after restartMs, and again after each failed attempt, until closed', async () => {
      client.status = 'end';
      client.emit('end');
      await jest.advanceTimersByTimeAsync(TIMINGS.restartMs - 1);
      expect(client.connect).not.toHaveBeenCalled();
      // The attempt fails: ioredis ends the client again.
      client.connect.mockImplementationOnce(async () => {
        client.emit('end');
        throw new Error('Connection is closed.');
      });
      await jest.advanceTimersByTimeAsync(1);
      expect(client.connect).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(TIMINGS.restartMs);
      expect(client.connect).toHaveBeenCalledTimes(2);
      // Reconnected (by this attempt or by ioredis itself): a late timer does not connect twice.
      client.status = 'ready';
      client.emit('end');
      await jest.advanceTimersByTimeAsync(TIMINGS.restartMs);
      expect(client.connect).toHaveBeenCalledTimes(2);
      client.status = 'end';
      client.emit('end');
      await store.close();
      await jest.advanceTimersByTimeAsync(10 * TIMINGS.restartMs);
      expect(client.connect).toHaveBeenCalledTimes(2);
      // Nothing to quit on an ended connection (a disconnect() would hold a timer for a stream already gone).
      expect(client.quit).not.toHaveBeenCalled();
      expect(client.disconnect).not.toHaveBeenCalled();
    });

    it('closing stops the probe', async () => {
      client.get.mockRejectedValueOnce(timedOut());
      await expect503(store.get('k'));
      await store.close();
      await jest.advanceTimersByTimeAsync(10 * TIMINGS.probeMs);
      expect(client.ping).not.toHaveBeenCalled();
    });
  });

  describe('subscribe', () => {
    interface Feed {
      sub: FakeConnection;
      messages: string[];
      onResync: jest.Mock;
      onLost: jest.Mock;
      subscribed: Promise<void>;
    }

    /** Subscribes; `confirm` decides how the first (explicit) SUBSCRIBE is answered. */
    function subscribe(confirm: Promise<number> = Promise.resolve(1)): Feed {
      const messages: string[] = [];
      const onResync = jest.fn();
      const onLost = jest.fn();
      const sub = client.duplicate();
      client.duplicate = () => sub;
      sub.subscribe.mockReturnValueOnce(confirm);
      const subscribed = store.subscribe('ch', (m) => messages.push(m), onResync, onLost);
      return { sub, messages, onResync, onLost, subscribed };
    }

    /** The subscriber connection becomes ready; SUBSCRIBE is answered by `confirm`. */
    async function ready(feed: Feed, confirm: Promise<number> = Promise.resolve(1)): Promise<void> {
      feed.sub.subscribe.mockReturnValueOnce(confirm);
      feed.sub.emit('ready');
      await flush();
    }

    it('calls onResync on every ready, but only once Redis confirmed the SUBSCRIBE', async () => {
      const feed = subscribe();
      await feed.subscribed;
      expect(feed.sub.subscribe).toHaveBeenCalledWith('p:ch');
      const confirm = deferred<number>();
      await ready(feed, confirm.promise);
      expect(feed.sub.subscribe).toHaveBeenLastCalledWith('p:ch');
      expect(feed.onResync).not.toHaveBeenCalled();
      confirm.resolve(1);
      await flush();
      expect(feed.onResync).toHaveBeenCalledTimes(1);

      feed.sub.emit('close');
      expect(feed.onLost).toHaveBeenCalledTimes(1);
      // ioredis emits close per attempt while reconnecting: one loss.
      feed.sub.emit('close');
      expect(feed.onLost).toHaveBeenCalledTimes(1);
      await ready(feed);
      expect(feed.onResync).toHaveBeenCalledTimes(2);
      expect(feed.onLost).toHaveBeenCalledTimes(1);
    });

    it('a SUBSCRIBE unanswered on ready drops the connection to start over, without onResync', async () => {
      const feed = subscribe();
      await ready(feed, Promise.reject(timedOut()));
      expect(feed.onResync).not.toHaveBeenCalled();
      expect(feed.sub.disconnect).toHaveBeenCalledWith(true);
    });

    it('no onLost before the subscription was ever active', async () => {
      const feed = subscribe();
      feed.sub.emit('close');
      expect(feed.onLost).not.toHaveBeenCalled();
    });

    it('delivers messages of its own (prefixed) channel only', async () => {
      const feed = subscribe();
      await ready(feed);
      feed.sub.emit('message', 'p:ch', 'one');
      feed.sub.emit('message', 'ch', 'not ours');
      feed.sub.emit('message', 'p:other', 'nor this');
      expect(feed.messages).toEqual(['one']);
    });

    it('heartbeat: PINGs the active subscriber every heartbeatMs; an unanswered PING is a loss and a reconnection', async () => {
      const feed = subscribe();
      // Not active yet: no heartbeat.
      await jest.advanceTimersByTimeAsync(3 * TIMINGS.heartbeatMs);
      expect(feed.sub.ping).not.toHaveBeenCalled();
      await ready(feed);
      feed.sub.ping.mockResolvedValueOnce('PONG');
      await jest.advanceTimersByTimeAsync(TIMINGS.heartbeatMs);
      expect(feed.sub.ping).toHaveBeenCalledTimes(1);
      expect(feed.onLost).not.toHaveBeenCalled();

      const unanswered = deferred<string>();
      feed.sub.ping.mockReturnValueOnce(unanswered.promise);
      await jest.advanceTimersByTimeAsync(TIMINGS.heartbeatMs);
      expect(feed.sub.ping).toHaveBeenCalledTimes(2);
      // One PING at a time.
      await jest.advanceTimersByTimeAsync(3 * TIMINGS.heartbeatMs);
      expect(feed.sub.ping).toHaveBeenCalledTimes(2);
      unanswered.reject(timedOut());
      await flush();
      expect(feed.onLost).toHaveBeenCalledTimes(1);
      expect(feed.sub.disconnect).toHaveBeenCalledWith(true);
      // The close that follows the drop is the same loss.
      feed.sub.emit('close');
      expect(feed.onLost).toHaveBeenCalledTimes(1);
      // Lost: no heartbeat until active again.
      await jest.advanceTimersByTimeAsync(3 * TIMINGS.heartbeatMs);
      expect(feed.sub.ping).toHaveBeenCalledTimes(2);
      await ready(feed);
      expect(feed.onResync).toHaveBeenCalledTimes(2);
    });

    it('rejects with 503 while the store is down, and keeps the subscription: onResync once the connection is up', async () => {
      client.status = 'reconnecting';
      const feed = subscribe();
      await expect503(feed.subscribed);
      client.status = 'ready';
      await ready(feed);
      expect(feed.onResync).toHaveBeenCalledTimes(1);
    });

    it('close stops the heartbeat and quits (or, failing that, disconnects) each subscriber and the main connection; no callbacks after', async () => {
      const feed = subscribe();
      await ready(feed);
      feed.sub.quit.mockRejectedValueOnce(new Error('closed'));
      await store.close();
      expect(feed.sub.quit).toHaveBeenCalled();
      expect(feed.sub.disconnect).toHaveBeenCalled();
      expect(client.quit).toHaveBeenCalledTimes(1);
      expect(client.disconnect).not.toHaveBeenCalled();
      expect(jest.getTimerCount()).toBe(0);
      await ready(feed);
      expect(feed.onResync).toHaveBeenCalledTimes(1);
      // Closed: refused without being sent, and closing again does nothing.
      await expect503(store.get('k'));
      expect(client.get).not.toHaveBeenCalled();
      await store.close();
      expect(client.quit).toHaveBeenCalledTimes(1);
    });

    it('a subscriber connection that gives up (a Cluster node gone: end) is replaced by a new one from the factory', async () => {
      await store.close();
      const made: FakeConnection[] = [];
      const factory = () => {
        const c = new FakeConnection();
        c.subscribe.mockResolvedValue(1);
        made.push(c);
        return c.asRedis();
      };
      store = new RedisKvStore(client.asRedis(), 'p:', TIMINGS, factory);
      const messages: string[] = [];
      const onResync = jest.fn();
      const onLost = jest.fn();
      await store.subscribe('ch', (m) => messages.push(m), onResync, onLost);
      expect(made).toHaveLength(1);
      made[0].emit('ready');
      await flush();
      expect(onResync).toHaveBeenCalledTimes(1);

      made[0].emit('close');
      made[0].emit('end');
      expect(onLost).toHaveBeenCalledTimes(1);
      // Not at once (a cluster without any node would be a busy loop): resubscribeMs later.
      expect(made).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(500);
      expect(made).toHaveLength(2);
      made[1].emit('ready');
      await flush();
      expect(made[1].subscribe).toHaveBeenCalledWith('p:ch');
      expect(onResync).toHaveBeenCalledTimes(2);
      made[1].emit('message', 'p:ch', 'through the new node');
      expect(messages).toEqual(['through the new node']);

      // The heartbeat PINGs the current connection, and close() quits it (the ended one is gone).
      made[1].ping.mockResolvedValue('PONG');
      await jest.advanceTimersByTimeAsync(TIMINGS.heartbeatMs);
      expect(made[1].ping).toHaveBeenCalled();
      expect(made[0].ping).not.toHaveBeenCalled();
      await store.close();
      expect(made[1].quit).toHaveBeenCalled();
      expect(made[0].quit).not.toHaveBeenCalled();
      // No replacement after close.
      made[1].emit('end');
      await jest.advanceTimersByTimeAsync(1000);
      expect(made).toHaveLength(2);
    });

    it("close() also disconnects a Sentinel client after its QUIT (its failover detector's sentinel connections)", async () => {
      await store.close();
      const sentinelClient = new FakeSentinelConnection();
      store = new RedisKvStore(sentinelClient.asRedis(), 'p:', TIMINGS);
      await store.close();
      expect(sentinelClient.quit).toHaveBeenCalledTimes(1);
      expect(sentinelClient.disconnect).toHaveBeenCalledTimes(1);
    });
  });

  it('a call that gets no answer at all ends at the deadline with a 503, and the connection is suspect', async () => {
    await store.close();
    store = new RedisKvStore(client.asRedis(), 'p:', { ...TIMINGS, deadlineMs: 300 });
    client.get.mockReturnValueOnce(new Promise(() => undefined));
    const pending = expect503(store.get('k'));
    await jest.advanceTimersByTimeAsync(300);
    await pending;
    expect(store.unavailable).toBe(true);
    client.ping.mockResolvedValue('PONG');
    await jest.advanceTimersByTimeAsync(TIMINGS.probeMs);
    expect(store.unavailable).toBe(false);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(10);
  }
}

/** Milliseconds the promise took to settle (either way). */
async function duration(promise: Promise<unknown>): Promise<number> {
  const started = Date.now();
  await promise.catch(() => undefined);
  return Date.now() - started;
}

describe('RedisKvStore (private redis-server)', () => {
  jest.setTimeout(10_000);
  // The client options of createKvStore, with a shorter command timeout and reconnection delay.
  const COMMAND_TIMEOUT_MS = 500;
  /** "At once": well under the command timeout, with room for a loaded 2-core machine. */
  const AT_ONCE_MS = 200;
  const connect = (port: number, retryStrategy: () => number | null = () => 20) =>
    new Redis(port, '127.0.0.1', {
      maxRetriesPerRequest: 1,
      connectTimeout: 500,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy,
      // disconnect() while reconnecting waits this long for a stream that already closed (ioredis, default 2 s).
      disconnectTimeout: 50,
    });
  let redis: PrivateRedis;
  let clients: Redis[];
  let stores: RedisKvStore[];
  let n = 0;

  const open = (port = redis.port, prefix = `t${++n}:`, retryStrategy?: () => number | null) => {
    const client = connect(port, retryStrategy);
    client.on('error', () => undefined);
    const store = new RedisKvStore(client, prefix, TIMINGS);
    clients.push(client);
    stores.push(store);
    return { client, store, prefix };
  };
  const ready = (client: Redis) => eventually('client ready', () => client.status === 'ready');

  beforeAll(async () => {
    redis = await PrivateRedis.create();
    await redis.start();
  });

  afterAll(async () => {
    await redis.kill();
  });

  beforeEach(() => {
    clients = [];
    stores = [];
  });

  afterEach(async () => {
    redis.resume();
    for (const s of stores) await s.close();
    for (const c of clients) c.disconnect();
  });

  it('stores under its prefix: values with a TTL, SET NX, increments keep their first expiry, compare-and-delete, entries', async () => {
    const { client, store } = open(redis.port, 'kv[1]:');
    await store.set('a', 'v', 10_000);
    await expect(store.get('a')).resolves.toBe('v');
    await expect(client.get('kv[1]:a')).resolves.toBe('v');
    expect(await store.ttl('a')).toBeGreaterThan(9_000);
    await expect(store.ttl('missing')).resolves.toBe(-1);
    await expect(store.setIfAbsent('a', 'w', 10_000)).resolves.toBe(false);
    await expect(store.setIfAbsent('b', 'w', 10_000)).resolves.toBe(true);
    await expect(store.increment('c', 5000)).resolves.toBe(1);
    await expect(store.increment('c', 60_000, 4)).resolves.toBe(5);
    expect(await store.ttl('c')).toBeLessThanOrEqual(5000);
    // claim: SET NX and a read in one script (created: the companion's value; held: the key's own).
    await store.set('{t}:kept', 'answer', 10_000);
    await expect(store.claim('{t}', 'pending', 10_000, '{t}:kept')).resolves.toEqual({
      created: true,
      value: 'answer',
    });
    await expect(client.get('kv[1]:{t}')).resolves.toBe('pending');
    expect(await store.ttl('{t}')).toBeGreaterThan(9_000);
    await expect(store.claim('{t}', 'other', 10_000, '{t}:kept')).resolves.toEqual({
      created: false,
      value: 'pending',
    });
    await expect(store.claim('{u}', 'pending', 10_000, '{u}:kept')).resolves.toEqual({
      created: true,
      value: null,
    });
    await expect(store.deleteIfEquals('b', 'other')).resolves.toBe(false);
    await expect(store.deleteIfEquals('b', 'w')).resolves.toBe(true);
    await store.set('x*1', '1', 10_000);
    await store.set('xa1', '2', 10_000);
    // Glob characters in the prefix and in the caller's prefix are matched literally.
    await client.set('kv1:xa1', 'not ours');
    expect((await store.entries('x*')).sort()).toEqual([['x*1', '1']]);
    expect((await store.entries('x')).sort()).toEqual([
      ['x*1', '1'],
      ['xa1', '2'],
    ]);
    await store.delete('a');
    await expect(store.get('a')).resolves.toBeNull();
  });

  it('counts a fixed window in one round trip: the count and the ms left, the window set once', async () => {
    const { client, store } = open(redis.port, 'hit:');
    const scripts = jest.spyOn(client, 'kvHit');
    await expect(store.hit('w', 5000)).resolves.toEqual({ count: 1, remainingMs: 5000 });
    const second = await store.hit('w', 60_000);
    expect(second.count).toBe(2);
    expect(second.remainingMs).toBeLessThanOrEqual(5000);
    expect(second.remainingMs).toBeGreaterThan(4000);
    expect(await client.pttl('hit:w')).toBeLessThanOrEqual(5000);
    expect(scripts).toHaveBeenCalledTimes(2);
  });

  it('refuses commands at once while the connection is down, and answers as soon as it is back', async () => {
    const other = await PrivateRedis.create();
    const { client, store } = open(other.port);
    await eventually('reconnecting', () => client.status === 'reconnecting');
    expect(await duration(expect503(store.get('k')))).toBeLessThan(AT_ONCE_MS);
    expect(await duration(expect503(store.set('k', 'v', 1000)))).toBeLessThan(AT_ONCE_MS);
    expect(await duration(expect503(store.ping()))).toBeLessThan(AT_ONCE_MS);
    try {
      await other.start();
      await ready(client);
      await store.set('k', 'v', 1000);
      await expect(store.get('k')).resolves.toBe('v');
      await other.kill();
      await eventually('reconnecting', () => client.status === 'reconnecting');
      expect(await duration(expect503(store.get('k')))).toBeLessThan(AT_ONCE_MS);
    } finally {
      await other.kill();
    }
  });

  it('a connection ioredis ended for good (a retry strategy that gives up) is connected again once the server answers', async () => {
    const other = await PrivateRedis.create();
    const { client, store } = open(other.port, 'restart:', () => null);
    try {
      await eventually('ended', () => client.status === 'end');
      await expect503(store.get('k'));
      await other.start();
      await ready(client);
      await store.set('k', 'v', 1000);
      await expect(store.get('k')).resolves.toBe('v');
    } finally {
      await other.kill();
    }
  });

  it('a paused Redis: the first command times out (503), the next are refused at once until a PING answers again', async () => {
    const { client, store } = open();
    await ready(client);
    redis.pause();
    const first = await duration(expect503(store.get('k')));
    expect(first).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 20);
    expect(first).toBeLessThan(COMMAND_TIMEOUT_MS + 1000);
    expect(store.unavailable).toBe(true);
    expect(await duration(expect503(store.get('k')))).toBeLessThan(AT_ONCE_MS);
    expect(await duration(expect503(store.increment('c', 1000)))).toBeLessThan(AT_ONCE_MS);
    // /health waits for a real answer (bounded by the command timeout).
    expect(await duration(expect503(store.ping()))).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 20);
    redis.resume();
    await eventually('answering again', () => !store.unavailable);
    await store.set('k', 'v', 1000);
    await expect(store.get('k')).resolves.toBe('v');
  });

  it('an error reply does not make the connection suspect', async () => {
    const { client, store } = open();
    await ready(client);
    await store.set('n', 'not a number', 10_000);
    const error = await expect503(store.increment('n', 10_000));
    expect(error.cause).toBeInstanceOf(ReplyError);
    expect(store.unavailable).toBe(false);
    await expect(store.get('n')).resolves.toBe('not a number');
  });

  it('subscribe: onResync once subscribed (a message published from it arrives), onLost and onResync again when the server drops the connection', async () => {
    const { client, store, prefix } = open();
    const admin = open().client;
    const messages: string[] = [];
    const onLost = jest.fn();
    let resyncs = 0;
    await store.subscribe(
      'ch',
      (m) => messages.push(m),
      () => {
        resyncs++;
        void store.publish('ch', `after resync ${resyncs}`);
      },
      onLost,
    );
    await ready(client);
    await eventually('first message', () => messages.length === 1);
    expect(messages).toEqual(['after resync 1']);
    expect(await admin.pubsub('NUMSUB', `${prefix}ch`)).toEqual([`${prefix}ch`, 1]);

    await admin.client('KILL', 'TYPE', 'pubsub');
    await eventually('resubscribed', () => resyncs === 2 && messages.length === 2);
    expect(onLost).toHaveBeenCalledTimes(1);
    expect(messages).toEqual(['after resync 1', 'after resync 2']);
  });

  it('subscribe: the heartbeat notices a paused Redis (onLost once), and the feed resumes after it (onResync, messages flow)', async () => {
    const { client, store } = open();
    const messages: string[] = [];
    const onLost = jest.fn();
    const onResync = jest.fn();
    await store.subscribe('ch', (m) => messages.push(m), onResync, onLost);
    await ready(client);
    await eventually('active', () => onResync.mock.calls.length === 1);
    redis.pause();
    // heartbeatMs (100) + the PING's command timeout (200), with slack.
    await eventually('lost', () => onLost.mock.calls.length === 1, 1000);
    redis.resume();
    await eventually('resumed', () => onResync.mock.calls.length === 2);
    expect(onLost).toHaveBeenCalledTimes(1);
    await eventually('main connection answering', () => !store.unavailable);
    await store.publish('ch', 'after the pause');
    await eventually('message after the pause', () => messages.includes('after the pause'));
  });
});
