import request from 'supertest';
import { PrivateRedis } from '../../src/testing/private-redis';
import { createTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * `store_up` and `revocation_replica_age_seconds` follow a real Redis outage (a redis-server of this suite's
 * own, killed and started again): what the WechatAuthRedisDown and WechatAuthRevocationReplicaStale alerts
 * (deploy/prometheus) read.
 */
jest.setTimeout(60_000);

const TOKEN = 'metrics-ops-token-0123456789-abcdefghijklmnop';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

describe('metrics during a Redis outage (ops, private server)', () => {
  let redis: PrivateRedis;
  let db: TestDatabase;
  let t: TestApp;

  /** One gauge's value from a scrape (NaN when absent). */
  const gauge = async (name: string): Promise<number> => {
    const text = (await request(t.server).get('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(200))
      .text;
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    const value = line?.slice(name.length + 1);
    return value === '+Inf' ? Infinity : Number(value);
  };

  beforeAll(async () => {
    redis = await PrivateRedis.create();
    await redis.start();
    db = await createTestDatabase();
    t = await createTestApp({
      databaseUrl: db.url,
      env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'metrics-ops:', METRICS_TOKEN: TOKEN },
    });
  });

  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await redis?.kill();
    await db?.drop();
  });

  it('store_up drops to 0 and the replica ages while Redis is gone; both recover when it is back', async () => {
    expect(await gauge('store_up')).toBe(1);
    expect(await gauge('revocation_replica_age_seconds')).toBe(0);

    await redis.kill();
    await eventually('store_up 0', async () => (await gauge('store_up')) === 0);
    await eventually(
      'replica older than 1 s',
      async () => (await gauge('revocation_replica_age_seconds')) > 1,
    );
    const first = await gauge('revocation_replica_age_seconds');
    await sleep(1100);
    // Seconds since the feed was lost: it keeps growing for as long as the outage lasts.
    expect(await gauge('revocation_replica_age_seconds')).toBeGreaterThan(first + 0.9);

    await redis.start();
    await eventually('store_up 1', async () => (await gauge('store_up')) === 1);
    await eventually('replica in sync', async () => (await gauge('revocation_replica_age_seconds')) === 0);
  });
});
