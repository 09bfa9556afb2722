import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import { testConfig } from '../../testing/test-config';
import { FakeClock } from '../clock/fake-clock';
import { createKvStore, logOutages, secretsOf, sentinelOptions } from './create-kv-store';
import { MemoryKvStore } from './memory-kv-store';
import { RedisKvStore } from './redis-kv-store';

const PASSWORD = 'p@ss:w0rd/7731';
const ENCODED = encodeURIComponent(PASSWORD);
const USER = 'svc-user';

/** An EventEmitter stands in for the ioredis client: logOutages only listens to it. */
const asClient = (emitter: EventEmitter) => emitter as unknown as Pick<Redis, 'on'>;

function fakeLogger() {
  return { warn: jest.fn(), log: jest.fn(), debug: jest.fn() };
}

/** Every argument of every call, as one string: what could reach a log line. */
const everything = (logger: ReturnType<typeof fakeLogger>) =>
  JSON.stringify([logger.warn.mock.calls, logger.log.mock.calls, logger.debug.mock.calls]);

describe('logOutages', () => {
  let client: EventEmitter;
  let logger: ReturnType<typeof fakeLogger>;

  beforeEach(() => {
    client = new EventEmitter();
    logger = fakeLogger();
    logOutages(asClient(client), logger, []);
  });

  it('warns once when the connection breaks (alert REDIS_UNAVAILABLE); the reconnection attempts go to debug', () => {
    client.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    client.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    client.emit('error', new Error('Connection is closed.'));
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      { alert: 'REDIS_UNAVAILABLE' },
      expect.stringContaining('redis error: connect ECONNREFUSED 127.0.0.1:6379'),
    );
    expect(logger.debug.mock.calls).toEqual([
      [{ failures: 2 }, 'redis error: connect ECONNREFUSED 127.0.0.1:6379'],
      [{ failures: 3 }, 'redis error: Connection is closed.'],
    ]);
    expect(logger.log).not.toHaveBeenCalled();
  });

  it("one 'ready again' line per outage, with its count of failures; the next outage warns again", () => {
    client.emit('error', new Error('a'));
    client.emit('error', new Error('b'));
    client.emit('ready');
    expect(logger.log.mock.calls).toEqual([[{ failures: 2 }, 'redis connection ready again']]);
    // A second ready (the subscriber's, a reconnection without error) is not an outage ending.
    client.emit('ready');
    expect(logger.log).toHaveBeenCalledTimes(1);

    client.emit('error', new Error('c'));
    expect(logger.warn).toHaveBeenCalledTimes(2);
    client.emit('ready');
    expect(logger.log.mock.calls[1]).toEqual([{ failures: 1 }, 'redis connection ready again']);
  });

  it('logs nothing on the first connection', () => {
    client.emit('ready');
    expect(everything(logger)).toBe('[[],[],[]]');
  });

  it('never passes the credentials to the logger, raw or percent-decoded, in the warning or at debug', () => {
    const quiet = fakeLogger();
    const redis = new EventEmitter();
    logOutages(asClient(redis), quiet, secretsOf(`redis://${USER}:${ENCODED}@cache.internal:6379/0`));
    redis.emit('error', new Error(`WRONGPASS invalid password ${PASSWORD} for ${USER}`));
    redis.emit('error', new Error(`connect to redis://${USER}:${ENCODED}@cache.internal:6379 failed`));
    redis.emit('error', new Error(`twice: ${PASSWORD} ${PASSWORD}`));
    const logged = everything(quiet);
    for (const secret of [PASSWORD, ENCODED, USER]) expect(logged).not.toContain(secret);
    expect(quiet.warn).toHaveBeenCalledWith(
      { alert: 'REDIS_UNAVAILABLE' },
      expect.stringContaining('WRONGPASS invalid password *** for ***'),
    );
    expect(quiet.debug.mock.calls.map((c) => c[1])).toEqual([
      'redis error: connect to redis://***:***@cache.internal:6379 failed',
      'redis error: twice: *** ***',
    ]);
  });
});

describe('secretsOf', () => {
  it('is the user name and password of the URL, each raw (as in the URL) and percent-decoded', () => {
    expect(secretsOf(`redis://${USER}:${ENCODED}@cache:6379`)).toEqual(
      expect.arrayContaining([ENCODED, PASSWORD, USER]),
    );
    // A raw "@" in the password: the URL parser encodes it; both spellings are secrets.
    expect(secretsOf('redis://:hunter@2@cache:6379')).toEqual(['hunter%402', 'hunter@2']);
    expect(secretsOf('rediss://:only-a-password@cache:6380')).toEqual(['only-a-password', 'only-a-password']);
  });

  it('leaves out parts too short to redact without mangling every message (under 3 characters)', () => {
    expect(secretsOf('redis://ab:cd@cache:6379')).toEqual([]);
    expect(secretsOf('redis://ab:long-enough@cache:6379')).toEqual(['long-enough', 'long-enough']);
  });

  it('is empty without credentials, or for a URL that does not parse', () => {
    expect(secretsOf('redis://cache:6379')).toEqual([]);
    expect(secretsOf('not a url')).toEqual([]);
  });
});

describe('createKvStore', () => {
  const clock = new FakeClock();

  it('is the in-memory store without REDIS_URL', () => {
    expect(createKvStore(testConfig(), clock)).toBeInstanceOf(MemoryKvStore);
  });

  describe('with REDIS_URL', () => {
    let server: Server;
    let port: number;
    const sockets = new Set<Socket>();
    const lines: string[] = [];

    beforeAll(async () => {
      // Answers every command with an error that quotes the password, as a misconfigured server or proxy might.
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('data', (data) => {
          const commands = data
            .toString()
            .split('\r\n')
            .filter((l) => /^\*\d+$/.test(l)).length;
          for (let i = 0; i < commands; i++) socket.write(`-WRONGPASS invalid password ${PASSWORD}\r\n`);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });

    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    beforeEach(() => {
      for (const level of ['log', 'warn', 'error', 'debug', 'verbose'] as const)
        jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
          lines.push(`${level} ${JSON.stringify(args)}`);
        });
    });

    afterEach(() => jest.restoreAllMocks());

    it("is a RedisKvStore whose outage log (ioredis' real errors) never quotes the URL's password", async () => {
      const store = createKvStore(
        testConfig({ REDIS_URL: `redis://${USER}:${ENCODED}@127.0.0.1:${port}`, REDIS_KEY_PREFIX: 'spec:' }),
        clock,
      ) as RedisKvStore;
      expect(store).toBeInstanceOf(RedisKvStore);
      const until = Date.now() + 3000;
      while (!lines.some((l) => l.startsWith('debug')) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 10));
      // Closed while connected: closed while reconnecting, ioredis would keep waiting for a stream already gone.
      await new Promise((resolve) => store.client.once('connect', resolve));
      const ended = new Promise((resolve) => store.client.once('end', resolve));
      store.client.disconnect();
      await ended;
      // Closed too: an open store connects an ended client again.
      await store.close();
      while (sockets.size > 0) await new Promise((r) => setTimeout(r, 5));
      const warnings = lines.filter((l) => l.startsWith('warn'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('REDIS_UNAVAILABLE');
      expect(warnings[0]).toContain('WRONGPASS invalid password ***');
      expect(lines.some((l) => l.startsWith('debug'))).toBe(true);
      for (const secret of [PASSWORD, ENCODED]) expect(lines.join('\n')).not.toContain(secret);
    });
  });
});

describe('createKvStore: the client of each topology', () => {
  const clock = new FakeClock(0);

  beforeEach(() => {
    for (const level of ['log', 'warn', 'error', 'debug'] as const)
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('REDIS_SENTINELS: one ioredis client asking the sentinels for the named master, failing fast, following failovers', () => {
    const config = testConfig({
      REDIS_SENTINELS: '127.0.0.1:26379,sentinel-2:26380',
      REDIS_SENTINEL_MASTER: 'mymaster',
      REDIS_PASSWORD: PASSWORD,
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
    });
    const topology = config.redis.topology;
    if (topology?.kind !== 'sentinel') throw new Error('expected a Sentinel topology');
    const options = sentinelOptions(topology);
    expect(options).toMatchObject({
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: 'sentinel-2', port: 26380 },
      ],
      name: 'mymaster',
      password: PASSWORD,
      sentinelPassword: 'sentinel-secret',
      maxRetriesPerRequest: 1,
      commandTimeout: 1000,
      failoverDetector: true,
    });
    // A write refused by a demoted master reconnects (to the master the sentinels name now); other errors do not.
    const reconnectOnError = options.reconnectOnError as (err: Error) => boolean;
    expect(reconnectOnError(new Error("READONLY You can't write against a read only replica."))).toBe(true);
    expect(reconnectOnError(new Error('WRONGTYPE Operation against a key'))).toBe(false);
  });

  // A Sentinel client (sentinelOptions above) keeps retrying unreachable sentinels for a while after
  // disconnect(): it is built and run against real sentinels in test/topologies/sentinel.e2e-spec.ts.
  it.each([
    ['REDIS_URL', { REDIS_URL: 'redis://127.0.0.1:1' }, Redis],
    ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: '127.0.0.1:1,127.0.0.1:2' }, Cluster],
  ])('%s: a RedisKvStore over the matching ioredis client', async (_name, env, kind) => {
    const store = createKvStore(testConfig(env), clock) as RedisKvStore;
    try {
      expect(store).toBeInstanceOf(RedisKvStore);
      expect(store.client).toBeInstanceOf(kind);
      expect(store.client.isCluster).toBe(kind === Cluster);
    } finally {
      store.client.disconnect();
      await store.close();
    }
  });

  it('no Redis variable: the in-process store', () => {
    expect(createKvStore(testConfig(), clock)).toBeInstanceOf(MemoryKvStore);
  });
});
