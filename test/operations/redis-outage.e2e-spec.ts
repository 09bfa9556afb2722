import { Redis } from 'ioredis';
import request from 'supertest';
import { AccountService } from '../../src/account/account.service';
import { FakeWechat } from '../support/fake-wechat';
import { PrivateRedis } from '../../src/testing/private-redis';
import { createTestApp, type TestApp } from '../support/test-app';
import { timed, type Timed } from '../support/timed';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { READINESS_CHECKS } from '../../src/health/readiness.service';

/**
 * Redis pausing, dying and coming back empty, with a redis-server of this suite's own (never the shared
 * one). What README's deployment section promises: Bearer routes and refresh keep working from the
 * in-memory revocation replica for REDIS_OUTAGE_GRACE_S, then fail closed (503); login (its code ledger
 * is shared state) and /health answer 503 with Retry-After; nothing hangs; a revocation made during the
 * outage is enforced here at once and reaches Redis once it is back, also a Redis that restarted empty.
 */
jest.setTimeout(90_000);

const PASSWORD = 'ops-redis-password-5531';
const PREFIX = 'ops-redis:';
const GRACE_S = 4;
const CLIENT_SECRET = 'ops-partner-secret-Zq8Lw2Nx7Vr4Ty6Kp1';
/** The longest a request may take while Redis does not answer: ioredis' command timeout (1 s), plus slack. */
const OUTAGE_BOUND_MS = 2500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A direct connection to the private server, to look at what the service stored. */
async function directClient(redis: PrivateRedis): Promise<Redis> {
  const c = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await c.connect();
  return c;
}

function expectUnavailable(res: Timed): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });
  expect(Number(res.retryAfter)).toBeGreaterThan(0);
  expect(res.ms).toBeLessThan(OUTAGE_BOUND_MS);
}

function expectOk(res: Timed, status = 200): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code: undefined });
  expect(res.ms).toBeLessThan(OUTAGE_BOUND_MS);
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

describe('Redis outage (ops, private server)', () => {
  let redis: PrivateRedis;
  let wechat: FakeWechat;
  let db: TestDatabase;
  let t: TestApp;
  let user: { accessToken: string; refreshToken: string };
  let adminToken: string;

  const login = () => request(t.server).post('/auth/wechat/login').send({ code: wechat.mint() });
  const session = (token: string) =>
    request(t.server).get('/auth/session').set('authorization', `Bearer ${token}`);
  const me = (token: string) => request(t.server).get('/users/me').set('authorization', `Bearer ${token}`);
  const refresh = async (): Promise<Timed> => {
    const res = await timed(
      request(t.server).post('/auth/refresh').send({ refreshToken: user.refreshToken }),
    );
    if (res.status === 200) user = res.body as unknown as typeof user;
    return res;
  };
  const disable = (userId: string) =>
    request(t.server)
      .patch(`/admin/users/${userId}/status`)
      .set('authorization', `Bearer ${adminToken}`)
      .send({ status: 'disabled' });
  const revocationKey = (userId: string) => `${PREFIX}revoke:user:${userId}`;
  const logs = () => t.logs.map((l) => JSON.parse(l) as { level: number; alert?: string; msg: string });

  beforeAll(async () => {
    redis = await PrivateRedis.create(PASSWORD);
    await redis.start();
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    db = await createTestDatabase();
    t = await createTestApp({
      databaseUrl: db.url,
      wechatApiBase: wechat.baseUrl,
      env: {
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: PREFIX,
        REDIS_OUTAGE_GRACE_S: String(GRACE_S),
        SERVICE_CLIENTS: `orders:${CLIENT_SECRET}`,
      },
    });
    user = (await login().expect(200)).body as typeof user;
    const admin = (await login().expect(200)).body as { user: { id: string }; refreshToken: string };
    await t.app.get(AccountService).setRoles('ops-test', admin.user.id, ['admin']);
    adminToken = (
      await request(t.server).post('/auth/refresh').send({ refreshToken: admin.refreshToken }).expect(200)
    ).body.accessToken as string;
  });

  afterAll(async () => {
    // The app first, while its Redis answers (its close removes the suite's keys), then the server.
    redis?.resume();
    await t?.close().catch(() => undefined);
    await redis?.kill();
    await db?.drop();
    await wechat?.stop();
  });

  it('paused (SIGSTOP: TCP up, no answers): tokens and refresh keep working, login and /health answer 503, nothing hangs', async () => {
    const victim = (await login().expect(200)).body as {
      user: { id: string };
      accessToken: string;
      refreshToken: string;
    };
    redis.pause();
    try {
      const started = Date.now();
      expectOk(await timed(session(user.accessToken)));
      expectOk(await timed(me(user.accessToken)));
      expectOk(await refresh());
      expectUnavailable(await timed(login()));
      expectUnavailable(await timed(request(t.server).get('/health')));
      expectOk(await timed(request(t.server).get('/health/live')));
      // Partners' introspection too: its per-client limit is counted on this instance meanwhile.
      const introspected = await request(t.server)
        .post('/oauth/introspect')
        .auth('orders', CLIENT_SECRET)
        .type('form')
        .send({ token: user.accessToken });
      expect({ status: introspected.status, active: introspected.body.active }).toEqual({
        status: 200,
        active: true,
      });

      // Disabling a user while Redis is paused: not acknowledged (503), but the status is changed, every
      // refresh token ended, and the access token refused on this instance at once.
      expectUnavailable(await timed(disable(victim.user.id)));
      expect((await session(victim.accessToken)).status).toBe(401);
      expect(
        (await request(t.server).post('/auth/refresh').send({ refreshToken: victim.refreshToken })).status,
      ).toBe(401);
      expect(Date.now() - started).toBeLessThan(GRACE_S * 1000);

      // Past the grace the replica may be stale: Bearer routes fail closed.
      await eventually('Bearer routes answer 503 past REDIS_OUTAGE_GRACE_S', async () => {
        const res = await timed(session(user.accessToken));
        if (res.status === 200) return false;
        expectUnavailable(res);
        return true;
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(GRACE_S * 1000);
      expect(logs()).toContainEqual(expect.objectContaining({ level: 50, alert: 'REVOCATIONS_STALE' }));
    } finally {
      redis.resume();
    }

    // Back without restarting the app: everything answers, and the revocation made meanwhile is in Redis.
    await eventually(
      'Bearer routes answer again',
      async () => (await session(user.accessToken)).status === 200,
    );
    const direct = await directClient(redis);
    try {
      await eventually(
        'the pending revocation is written to Redis',
        async () => (await direct.exists(revocationKey(victim.user.id))) === 1,
      );
    } finally {
      direct.disconnect();
    }
    expect((await session(victim.accessToken)).status).toBe(401);
    await eventually('login answers again', async () => (await login()).status === 200);
    expectOk(await refresh());
    expectOk(await timed(request(t.server).get('/health')));
  });

  it('killed, then restarted empty: 503s at once while down, recovery by itself, revocations written back', async () => {
    const victim = (await login().expect(200)).body as { user: { id: string }; accessToken: string };
    await disable(victim.user.id).expect(200);
    const warningsBefore = logs().filter((l) => l.alert === 'REDIS_UNAVAILABLE').length;

    await redis.kill();
    // Readiness is answered from a check at most READINESS_CHECKS.intervalMs old: past it, the probe sees the outage.
    await sleep(READINESS_CHECKS.intervalMs + 200);
    // Known down: refused without waiting for a timeout.
    for (const res of [await timed(login()), await timed(request(t.server).get('/health'))]) {
      expectUnavailable(res);
      expect(res.ms).toBeLessThan(500);
    }
    expectOk(await timed(session(user.accessToken)));
    expectOk(await refresh());
    expect((await session(victim.accessToken)).status).toBe(401);

    await redis.start();
    await eventually('login answers again', async () => (await login()).status === 200);
    // Readiness follows within one check interval (it answers from a cached check).
    await eventually(
      'readiness sees Redis back',
      async () => (await request(t.server).get('/health')).status === 200,
    );
    // The restarted server kept nothing; the instance wrote its live revocations back.
    const direct = await directClient(redis);
    try {
      await eventually(
        'the revocation is back in Redis',
        async () => (await direct.exists(revocationKey(victim.user.id))) === 1,
      );
    } finally {
      direct.disconnect();
    }
    expect((await session(victim.accessToken)).status).toBe(401);
    expect(logs()).toContainEqual(expect.objectContaining({ alert: 'REVOCATIONS_RESTORED' }));
    // One warning per outage (the reconnection attempts go to debug), and never the URL's password.
    expect(logs().filter((l) => l.alert === 'REDIS_UNAVAILABLE').length - warningsBefore).toBe(1);
    expect(t.logs.join('\n')).not.toContain(PASSWORD);
  });
});
