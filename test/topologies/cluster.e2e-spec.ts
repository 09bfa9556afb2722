import { createHash } from 'node:crypto';
import { Cluster } from 'ioredis';
import { SystemClock } from '../../src/common/clock/system-clock';
import { createKvStore } from '../../src/common/store/create-kv-store';
import type { RedisKvStore } from '../../src/common/store/redis-kv-store';
import { StoreKeys } from '../../src/common/store/store-keys';
import { testConfig } from '../../src/testing/test-config';
import { eventually, PrivateCluster } from './redis-topologies';
import { sharedStateCases, TwoInstances } from './two-instances';

/**
 * Redis Cluster (3 masters of this suite's own, REDIS_CLUSTER_NODES): two instances share state through
 * it, pub/sub reaches both whichever node each subscribed to, and the store's scans see every master.
 */
jest.setTimeout(60_000);

const PASSWORD = 'topology-cluster-pa55-7Qw';

describe('Redis Cluster: two instances (topologies)', () => {
  let cluster: PrivateCluster;
  let env: TwoInstances;

  beforeAll(async () => {
    cluster = await PrivateCluster.start(3, PASSWORD);
    env = new TwoInstances({ REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_PASSWORD: PASSWORD });
    await env.start();
  });

  afterAll(async () => {
    await env?.stop();
    await cluster?.stop();
  });

  sharedStateCases(() => env);

  it("spreads the instances' keys over the masters, under the same key strings as one Redis", async () => {
    const keys = new Map<number, string[]>();
    const direct = new Cluster(
      cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
      { redisOptions: { password: PASSWORD } },
    );
    try {
      await new Promise((resolve) => direct.once('ready', resolve));
      expect(direct.nodes('master')).toHaveLength(3);
      for (const master of direct.nodes('master')) {
        const [, found] = await master.scan('0', 'MATCH', `${env.prefix}*`, 'COUNT', 10_000);
        keys.set(master.options.port as number, found);
      }
    } finally {
      direct.disconnect();
    }
    const all = [...keys.values()].flat();
    expect([...keys.values()].filter((k) => k.length > 0).length).toBeGreaterThan(1);
    // No hash tags: the families (store-keys.ts) as with REDIS_URL, the deployment's prefix in front.
    expect(all.some((k) => k.startsWith(`${env.prefix}revoke:user:`))).toBe(true);
    expect(all.some((k) => k.startsWith(`${env.prefix}throttle:`))).toBe(true);
    // No hash tag but the login-code ledger's, whose claim and kept answer one script reads together.
    expect(all.filter((k) => /[{}]/.test(k)).every((k) => k.startsWith(`${env.prefix}wx:code:{`))).toBe(true);
  });

  describe('the store itself', () => {
    let store: RedisKvStore;

    const open = () =>
      createKvStore(
        testConfig({
          REDIS_CLUSTER_NODES: cluster.nodeList,
          REDIS_PASSWORD: PASSWORD,
          REDIS_KEY_PREFIX: 'kv:',
        }),
        new SystemClock(),
      ) as RedisKvStore;

    beforeAll(() => {
      store = open();
    });

    afterAll(() => store?.close());

    it('entries() finds keys on every master (SCAN per master, no CROSSSLOT)', async () => {
      const written = Array.from({ length: 60 }, (_, i) => [`fam:${i}`, `v${i}`] as [string, string]);
      for (const [k, v] of written) await store.set(k, v, 60_000);
      await store.set('other:1', 'x', 60_000);
      expect((await store.entries('fam:')).sort()).toEqual([...written].sort());
    });

    it('scripts and compare-and-delete work on keys of any slot', async () => {
      expect(await store.hit('h:1', 60_000)).toMatchObject({ count: 1 });
      expect(await store.hit('h:1', 60_000)).toMatchObject({ count: 2 });
      expect(await store.increment('i:1', 60_000, 5)).toBe(5);
      expect(await store.setIfAbsent('lock:1', 'me', 60_000)).toBe(true);
      expect(await store.setIfAbsent('lock:1', 'you', 60_000)).toBe(false);
      expect(await store.deleteIfEquals('lock:1', 'you')).toBe(false);
      expect(await store.deleteIfEquals('lock:1', 'me')).toBe(true);
    });

    it("the login-code ledger's two-key claim runs on one slot for codes spread over every master", async () => {
      for (let i = 0; i < 20; i++) {
        const hash = createHash('sha256').update(`code-${i}`).digest('hex');
        await store.set(StoreKeys.loginCodeAnswer(hash), `kept-${i}`, 60_000);
        await expect(
          store.claim(StoreKeys.loginCodeClaim(hash), 'pending', 60_000, StoreKeys.loginCodeAnswer(hash)),
        ).resolves.toEqual({ created: true, value: `kept-${i}` });
      }
      // Without the shared hash tag a Cluster refuses the script (the reason the keys carry one). On a store of
      // its own: the refusal makes that store suspect until its probe answers.
      const other = open();
      const refused = await other.claim('claim:a', 'pending', 60_000, 'claim:b').catch((e: Error) => e);
      await other.close();
      expect(String((refused as Error).cause)).toMatch(/same slot/);
    });

    it('scripts issued together for keys on every master all answer (auto-pipelining groups them by key)', async () => {
      const keys = Array.from({ length: 30 }, (_, i) => `burst:${i}`);
      const answers = await Promise.all([
        ...keys.map((k) => store.hit(k, 60_000)),
        ...keys.map((k) => store.increment(`${k}:n`, 60_000, 2)),
        ...keys.map((k) => store.get(k)),
      ]);
      expect(answers.slice(0, 30)).toEqual(keys.map(() => expect.objectContaining({ count: 1 })));
      expect(answers.slice(30, 60)).toEqual(keys.map(() => 2));
    });

    it('a subscriber on one instance hears a publication from another; close() ends every connection', async () => {
      const other = createKvStore(
        testConfig({
          REDIS_CLUSTER_NODES: cluster.nodeList,
          REDIS_PASSWORD: PASSWORD,
          REDIS_KEY_PREFIX: 'kv:',
        }),
        new SystemClock(),
      ) as RedisKvStore;
      const heard: string[] = [];
      await other.subscribe(
        'chan',
        (m) => heard.push(m),
        () => undefined,
      );
      // Published through whichever node the publishing Cluster client picks: forwarded cluster-wide.
      for (let i = 0; i < 5; i++) await store.publish('chan', `m${i}`);
      await eventually('five messages heard', async () => heard.length === 5, 5000);
      // Each PUBLISH may go through another node: the order across publications is not kept.
      expect([...heard].sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      await other.close();
      await eventually('the Cluster client ended', async () => other.client.status === 'end', 3000);
      await store.publish('chan', 'after close');
      await new Promise((r) => setTimeout(r, 300));
      expect(heard).toHaveLength(5);
      await expect(other.get('x')).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    });
  });
});
