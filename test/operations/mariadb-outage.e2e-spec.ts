import { createHash } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { FakeWechat } from '../support/fake-wechat';
import { startPrivateMariaDb, type PrivateMariaDb } from '../support/private-mariadb';
import { createTestApp, type TestApp } from '../support/test-app';
import { timed, type Timed } from '../support/timed';

/**
 * MariaDB stopping, dying and coming back, with a real server of this suite's own (never the shared one):
 * every request answers 503 DATABASE_UNAVAILABLE with Retry-After within its deadline, the app recovers
 * without a restart, and nothing a client got a 200 for is lost.
 */
jest.setTimeout(60_000);

const QUERY_TIMEOUT_MS = 1000;
const ACQUIRE_TIMEOUT_MS = 500;
/** The longest any request may take while the database does not answer: one deadline, plus slack. */
const OUTAGE_BOUND_MS = QUERY_TIMEOUT_MS + ACQUIRE_TIMEOUT_MS + 1000;

/**
 * GET /health's status once it is `want`, or the last one seen after 5 s: readiness answers from a check at most
 * a second old (READINESS_CHECKS), so it follows an outage or a recovery within that, not at once.
 */
async function readinessOf(server: Parameters<typeof request>[0], want: number): Promise<number> {
  const until = Date.now() + 5000;
  let status = (await request(server).get('/health')).status;
  while (status !== want && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await request(server).get('/health')).status;
  }
  return status;
}

function expectDatabaseUnavailable(res: Timed, boundMs = OUTAGE_BOUND_MS): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status: 503, code: 'DATABASE_UNAVAILABLE' });
  expect(Number(res.retryAfter)).toBeGreaterThan(0);
  expect(res.ms).toBeLessThan(boundMs);
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('MariaDB outage (ops, private server)', () => {
  let db: PrivateMariaDb;
  let wechat: FakeWechat;
  let t: TestApp;

  const login = (openid: string) =>
    request(t.server)
      .post('/auth/wechat/login')
      .send({ code: wechat.mint({ openid }) });
  const me = (token: string) => request(t.server).get('/users/me').set('authorization', `Bearer ${token}`);
  const sessions = (token: string) =>
    request(t.server).get('/sessions').set('authorization', `Bearer ${token}`);
  const refresh = (refreshToken: string) => request(t.server).post('/auth/refresh').send({ refreshToken });

  beforeAll(async () => {
    db = await startPrivateMariaDb();
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    await db.createDatabase('outage');
    t = await createTestApp({
      databaseUrl: db.url('outage'),
      wechatApiBase: wechat.baseUrl,
      env: {
        DB_POOL_SIZE: '4',
        DB_POOL_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS),
        DB_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
        DB_POOL_QUEUE_LIMIT: '50',
      },
    });
  });

  afterAll(async () => {
    // The server first: a paused one would otherwise keep the pool's sockets half-open.
    await db?.destroy();
    await t?.close().catch(() => undefined);
    await wechat?.stop();
  });

  describe('paused (SIGSTOP: TCP up, no answers)', () => {
    it('answers 503 DATABASE_UNAVAILABLE with Retry-After within the deadline, and recovers on SIGCONT', async () => {
      const before = await login('o-paused');
      expect(before.status).toBe(200);
      const { accessToken, refreshToken } = before.body as { accessToken: string; refreshToken: string };

      db.pause();
      try {
        const started = Date.now();
        const answers = await Promise.all([
          timed(me(accessToken)),
          timed(sessions(accessToken)),
          timed(refresh(refreshToken)),
          timed(login('o-paused')),
          timed(login('o-new-while-paused')),
          // More than the pool and its queue can hold at once: nobody waits without bound.
          ...Array.from({ length: 60 }, () => timed(me(accessToken))),
        ]);
        for (const res of answers) expectDatabaseUnavailable(res);
        expect(Date.now() - started).toBeLessThan(OUTAGE_BOUND_MS);

        // Still paused, the pool's connections now all given up: the next ones fail within the bound too.
        for (const res of await Promise.all([timed(me(accessToken)), timed(refresh(refreshToken))]))
          expectDatabaseUnavailable(res);
        // The token-only route never needed the database.
        expect(
          (await timed(request(t.server).get('/auth/session').set('authorization', `Bearer ${accessToken}`)))
            .status,
        ).toBe(200);
        expect(await readinessOf(t.server, 503)).toBe(503);
      } finally {
        db.resume();
      }

      // No restart of the app: the next requests are answered.
      expect((await me(accessToken)).status).toBe(200);
      const rotated = await refresh(refreshToken);
      expect(rotated.status).toBe(200);
      expect((await login('o-paused')).status).toBe(200);
      expect((await sessions(rotated.body.accessToken as string)).status).toBe(200);
      expect(await readinessOf(t.server, 200)).toBe(200);
    });
  });

  describe('killed (SIGKILL) and restarted', () => {
    it('answers 503 DATABASE_UNAVAILABLE (not SERVICE_UNAVAILABLE), recovers after the restart, and loses nothing acknowledged', async () => {
      // Traffic while the server dies: each worker logs in once, then keeps refreshing; every 200 is recorded.
      interface Worker {
        userId?: string;
        accessToken?: string;
        /** Refresh tokens answered with a 200, in order (the login's first). */
        good: string[];
        failure?: Timed;
      }
      const workers: Worker[] = Array.from({ length: 6 }, () => ({ good: [] }));
      const run = async (w: Worker, i: number): Promise<void> => {
        const first = await timed(login(`o-kill-${i}`));
        if (first.status !== 200) return void (w.failure = first);
        w.userId = (first.body.user as { id: string }).id;
        w.accessToken = first.body.accessToken as string;
        w.good.push(first.body.refreshToken as string);
        for (;;) {
          const res = await timed(refresh(w.good[w.good.length - 1]));
          if (res.status !== 200) return void (w.failure = res);
          w.good.push(res.body.refreshToken as string);
          w.accessToken = res.body.accessToken as string;
        }
      };
      const traffic = Promise.all(workers.map(run));
      // Kill in the middle of it, once every worker has had a few answers.
      const until = Date.now() + 20_000;
      while (workers.some((w) => w.good.length < 3) && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 10));
      await db.kill();
      await traffic;

      for (const w of workers) {
        expect(w.failure).toBeDefined();
        expectDatabaseUnavailable(w.failure as Timed);
      }
      const [w0] = workers;
      const during = await Promise.all([
        timed(me(w0.accessToken as string)),
        timed(refresh(w0.good[w0.good.length - 1])),
        timed(login('o-new-while-dead')),
      ]);
      for (const res of during) expectDatabaseUnavailable(res);
      expect(await readinessOf(t.server, 503)).toBe(503);

      await db.restart();

      // Recovered without restarting the app.
      expect((await me(w0.accessToken as string)).status).toBe(200);
      expect((await login('o-new-after-restart')).status).toBe(200);

      // Nothing acknowledged is lost: every user and every refresh token answered with a 200 is there.
      const admin = await db.admin();
      try {
        for (const w of workers) {
          const [users] = await admin.query('SELECT id FROM outage.users WHERE id = ?', [w.userId]);
          expect(users).toHaveLength(1);
          const hashes = w.good.map(sha256);
          const [rows] = await admin.query(
            'SELECT token_hash FROM outage.refresh_tokens WHERE token_hash IN (?)',
            [hashes],
          );
          expect((rows as { token_hash: string }[]).map((r) => r.token_hash).sort()).toEqual(
            [...hashes].sort(),
          );
        }
      } finally {
        await admin.end();
      }
      // And the newest one of each still works: the session survived the crash — unless the refresh the
      // kill cut off had committed its rotation without the client hearing of it (the COMMIT's answer was
      // lost). Then that token was rotated by a commit nobody acknowledged: within the reuse interval its
      // successor cannot be repeated (REFRESH_TOKEN_INVALID), after it that is reuse (REFRESH_TOKEN_REUSED).
      // Never a token that simply vanished: the row is there, rotated, and its successor row exists.
      for (const w of workers) {
        const newest = w.good[w.good.length - 1];
        const res = await refresh(newest);
        expect([200, 401]).toContain(res.status);
        if (res.status === 200) continue;
        expect(['REFRESH_TOKEN_INVALID', 'REFRESH_TOKEN_REUSED']).toContain(res.body.code);
        const check = await db.admin();
        try {
          const [rows] = await check.query(
            'SELECT s.id FROM outage.refresh_tokens t JOIN outage.refresh_tokens s ON s.id = t.replaced_by ' +
              'WHERE t.token_hash = ? AND t.revoked_at IS NOT NULL',
            [sha256(newest)],
          );
          expect(rows).toHaveLength(1);
        } finally {
          await check.end();
        }
      }
    });
  });
});

describe('MariaDB pool exhausted (ops, private server)', () => {
  let db: PrivateMariaDb;
  let wechat: FakeWechat;
  let t: TestApp;
  const POOL_ACQUIRE_MS = 300;

  beforeAll(async () => {
    db = await startPrivateMariaDb();
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    await db.createDatabase('exhausted');
    t = await createTestApp({
      databaseUrl: db.url('exhausted'),
      wechatApiBase: wechat.baseUrl,
      env: {
        DB_POOL_SIZE: '1',
        DB_POOL_QUEUE_LIMIT: '2',
        DB_POOL_ACQUIRE_TIMEOUT_MS: String(POOL_ACQUIRE_MS),
        DB_QUERY_TIMEOUT_MS: '10000',
      },
    });
  });

  afterAll(async () => {
    await db?.destroy();
    await t?.close().catch(() => undefined);
    await wechat?.stop();
  });

  it('answers 503 within the acquire timeout instead of queueing behind a busy pool', async () => {
    const logged = await request(t.server)
      .post('/auth/wechat/login')
      .send({ code: wechat.mint({ openid: 'o-busy' }) });
    expect(logged.status).toBe(200);
    const token = logged.body.accessToken as string;

    // The only connection is busy for 3 s.
    const ds = t.app.get(DataSource);
    const holding = ds.query('SELECT SLEEP(3)');
    await new Promise((resolve) => setTimeout(resolve, 100));

    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        timed(request(t.server).get('/users/me').set('authorization', `Bearer ${token}`)),
      ),
    );
    for (const res of answers) expectDatabaseUnavailable(res, POOL_ACQUIRE_MS + 700);
    expect(Date.now() - started).toBeLessThan(POOL_ACQUIRE_MS + 700);
    // Two waited their acquire timeout in the queue; the rest were refused at once (queue full).
    const waited = answers.filter((a) => a.ms >= POOL_ACQUIRE_MS - 20);
    expect(waited.length).toBeGreaterThanOrEqual(1);
    expect(waited.length).toBeLessThanOrEqual(2);
    expect(answers.filter((a) => a.ms < POOL_ACQUIRE_MS - 50).length).toBeGreaterThanOrEqual(6);

    await holding;
    expect((await request(t.server).get('/users/me').set('authorization', `Bearer ${token}`)).status).toBe(
      200,
    );
  });
});
