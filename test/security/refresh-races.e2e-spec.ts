import request from 'supertest';
import { DataSource } from 'typeorm';
import { FakeWechat } from '../support/fake-wechat';
import { createTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../support/test-database';

type Res = request.Response;

/** What each answer was, as one comparable string: `200`, or `401 REFRESH_TOKEN_INVALID`. */
const outcome = (r: Res) => (r.status === 200 ? '200' : `${r.status} ${r.body?.code}`);

/**
 * Refresh races never log a user out, and a refresh racing a logout is not theft.
 * Run on SQLite (default) and MariaDB (`TEST_DB=mariadb`), with the memory store or Redis (`TEST_REDIS=1`).
 */
describe(`refresh races (security e2e, ${TEST_DB})`, () => {
  let wechat: FakeWechat;
  let db: TestDatabase;
  let dbShort: TestDatabase;
  /** The default reuse interval (10 s). */
  let t: TestApp;
  let tClosed = false;
  /** REFRESH_REUSE_INTERVAL=1 (reuse after the interval without a long wait), MAX_SESSIONS_PER_USER=3. */
  let short: TestApp;

  beforeAll(async () => {
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    db = await createTestDatabase();
    dbShort = await createTestDatabase();
    t = await createTestApp({ databaseUrl: db.url, wechatApiBase: wechat.baseUrl });
  });

  afterAll(async () => {
    if (!tClosed) await t?.close();
    await short?.close();
    await db?.drop();
    await dbShort?.drop();
    await wechat?.stop();
  });

  const login = async (app: TestApp, openid: string) => {
    const res = await request(app.server)
      .post('/auth/wechat/login')
      .send({ code: wechat.mint({ openid }) });
    expect(res.status).toBe(200);
    return res.body as { accessToken: string; refreshToken: string; user: { id: string } };
  };
  const refresh = (app: TestApp, refreshToken: string) =>
    request(app.server).post('/auth/refresh').send({ refreshToken });
  const liveRows = async (app: TestApp, userId: string): Promise<number> => {
    const rows: { n: number | string }[] = await app.app
      .get(DataSource)
      .query('SELECT COUNT(*) AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL', [userId]);
    return Number(rows[0].n);
  };
  const familyRows = async (app: TestApp, userId: string): Promise<number> => {
    const rows: { n: number | string }[] = await app.app
      .get(DataSource)
      .query('SELECT COUNT(*) AS n FROM refresh_tokens WHERE user_id = ?', [userId]);
    return Number(rows[0].n);
  };

  describe('parallel refreshes of one token', () => {
    it.each([5, 50])(
      '%i at once → all 200 with one pair, rotated once; that pair refreshes again',
      async (n) => {
        const first = await login(t, `o-parallel-${n}`);
        const results = await Promise.all(Array.from({ length: n }, () => refresh(t, first.refreshToken)));

        expect(results.map(outcome)).toEqual(Array(n).fill('200'));
        expect(new Set(results.map((r) => r.body.refreshToken)).size).toBe(1);
        // The very same access token too, not merely an equivalent one.
        expect(new Set(results.map((r) => r.body.accessToken)).size).toBe(1);
        expect(results[0].body.refreshToken).not.toBe(first.refreshToken);
        // One rotation: the login's row and one successor, which is the only live one.
        expect(await familyRows(t, first.user.id)).toBe(2);
        expect(await liveRows(t, first.user.id)).toBe(1);

        const again = await refresh(t, results[0].body.refreshToken);
        expect(outcome(again)).toBe('200');
        expect(again.body.refreshToken).not.toBe(results[0].body.refreshToken);
        const me = await request(t.server)
          .get('/users/me')
          .set('authorization', `Bearer ${again.body.accessToken}`);
        expect(me.status).toBe(200);
        expect(await liveRows(t, first.user.id)).toBe(1);
      },
    );

    it('within the interval a repeat, even one at a time, answers the same pair', async () => {
      const first = await login(t, 'o-repeat');
      const a = await refresh(t, first.refreshToken);
      const b = await refresh(t, first.refreshToken);
      expect([outcome(a), outcome(b)]).toEqual(['200', '200']);
      expect(b.body).toEqual(a.body);
    });
  });

  describe('logout races are not theft', () => {
    const ROUNDS = 6;
    const SESSIONS = 5;
    const PER_SESSION = 4;

    /**
     * Each round: one user, SESSIONS sessions, PER_SESSION parallel refreshes of each session's
     * token, and the revocation fired among them. Every refresh answers 200 or
     * REFRESH_TOKEN_INVALID — never REUSED, never 5xx — and afterwards nothing of it is alive.
     */
    async function race(
      name: string,
      revoke: (
        raced: { accessToken: string; sessionId: string }[],
        controller: { accessToken: string },
      ) => Promise<Res[]>,
    ): Promise<void> {
      const outcomes: string[] = [];
      const revocations: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const openid = `o-${name}-${round}`;
        const sessions: Awaited<ReturnType<typeof login>>[] = [];
        for (let i = 0; i < SESSIONS; i++) sessions.push(await login(t, openid));
        // A session outside the race, to send the revocations from.
        const controller = await login(t, openid);
        const raced = sessions.map((s) => ({ accessToken: s.accessToken, sessionId: sidOf(s.accessToken) }));
        // Sent in this order (supertest sends on then): half of each session's refreshes, the
        // revocation, the other half — so the revocation lands in the middle of the burst.
        const burst = () =>
          sessions.flatMap((s) => Array.from({ length: PER_SESSION / 2 }, () => refresh(t, s.refreshToken)));
        const [early, revoked, late] = await Promise.all([
          Promise.all(burst()),
          revoke(raced, controller),
          Promise.all(burst()),
        ]);
        const refreshed = [...early, ...late];
        outcomes.push(...refreshed.map(outcome));
        revocations.push(...revoked.map((r) => r.status));

        // Nothing raced survives: not the rows, not a successor handed out in the race, not the old tokens.
        expect(await liveRowsOf(raced.map((r) => r.sessionId))).toBe(0);
        const handedOut = [
          ...new Set(refreshed.filter((r) => r.status === 200).map((r) => r.body.refreshToken)),
        ];
        for (const token of [...handedOut, ...sessions.map((s) => s.refreshToken)])
          expect(outcome(await refresh(t, token))).toBe('401 REFRESH_TOKEN_INVALID');
      }
      expect(outcomes).toHaveLength(ROUNDS * SESSIONS * PER_SESSION);
      expect(outcomes.filter((o) => o !== '200' && o !== '401 REFRESH_TOKEN_INVALID')).toEqual([]);
      expect(revocations.filter((s) => s !== 204)).toEqual([]);
      // Printed so a run shows how the races fell (how many refreshes beat the revocation).
      // eslint-disable-next-line no-console
      console.log(
        `${name} on ${TEST_DB}: ${outcomes.filter((o) => o === '200').length} × 200, ${outcomes.filter((o) => o !== '200').length} × REFRESH_TOKEN_INVALID`,
      );
    }

    const sidOf = (accessToken: string) =>
      (JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString()) as { sid: string }).sid;
    const liveRowsOf = async (familyIds: string[]): Promise<number> => {
      const rows: { n: number | string }[] = await t.app
        .get(DataSource)
        .query(
          `SELECT COUNT(*) AS n FROM refresh_tokens WHERE revoked_at IS NULL AND family_id IN (${familyIds.map(() => '?').join(',')})`,
          familyIds,
        );
      return Number(rows[0].n);
    };

    it(`refreshes racing POST /auth/logout { all: true } (${ROUNDS * SESSIONS * PER_SESSION} refreshes)`, async () => {
      await race('logout-all', async (_raced, controller) => [
        await request(t.server)
          .post('/auth/logout')
          .set('authorization', `Bearer ${controller.accessToken}`)
          .send({ all: true }),
      ]);
    });

    it(`refreshes racing DELETE /sessions/:id of each session (${ROUNDS * SESSIONS * PER_SESSION} refreshes)`, async () => {
      await race('delete-session', (raced, controller) =>
        Promise.all(
          raced.map((s) =>
            request(t.server)
              .delete(`/sessions/${s.sessionId}`)
              .set('authorization', `Bearer ${controller.accessToken}`),
          ),
        ),
      );
    });

    it(`refreshes racing each session's own POST /auth/logout (${ROUNDS * SESSIONS * PER_SESSION} refreshes)`, async () => {
      await race('logout-current', (raced) =>
        Promise.all(
          raced.map((s) =>
            request(t.server).post('/auth/logout').set('authorization', `Bearer ${s.accessToken}`),
          ),
        ),
      );
    });
  });

  describe('after the interval (REFRESH_REUSE_INTERVAL=1)', () => {
    // Started only once the default app is closed: two apps on different SQLite files alive in one
    // jest process mixed up their databases (the first app's writes landed in the second's file).
    beforeAll(async () => {
      await t.close();
      tClosed = true;
      short = await createTestApp({
        databaseUrl: dbShort.url,
        wechatApiBase: wechat.baseUrl,
        env: { REFRESH_REUSE_INTERVAL: '1', MAX_SESSIONS_PER_USER: '3' },
      });
    });

    it('the rotated token again → 401 REFRESH_TOKEN_REUSED and the family is dead, its newest token too', async () => {
      const first = await login(short, 'o-reuse');
      const other = await login(short, 'o-reuse'); // another session of the same user
      const rotated = await refresh(short, first.refreshToken);
      expect(outcome(rotated)).toBe('200');
      await new Promise((r) => setTimeout(r, 1200));

      const reused = await refresh(short, first.refreshToken);
      expect(outcome(reused)).toBe('401 REFRESH_TOKEN_REUSED');
      expect(outcome(await refresh(short, rotated.body.refreshToken))).toBe('401 REFRESH_TOKEN_INVALID');
      // Presented yet again: still reuse, still dead.
      expect(outcome(await refresh(short, first.refreshToken))).toBe('401 REFRESH_TOKEN_REUSED');
      // Only that family: the user's other session lives on.
      expect(await liveRows(short, first.user.id)).toBe(1);
      expect(outcome(await refresh(short, other.refreshToken))).toBe('200');
    });

    it('within it, parallel refreshes still share one pair', async () => {
      const first = await login(short, 'o-short-parallel');
      const results = await Promise.all(Array.from({ length: 10 }, () => refresh(short, first.refreshToken)));
      expect(results.map(outcome)).toEqual(Array(10).fill('200'));
      expect(new Set(results.map((r) => r.body.refreshToken)).size).toBe(1);
    });

    it('MAX_SESSIONS_PER_USER=3: a fourth login evicts the oldest session by creation, never the new one', async () => {
      const oldest = await login(short, 'o-max');
      // MariaDB's DATETIME has whole seconds: the oldest must be a second older to be the oldest.
      await new Promise((r) => setTimeout(r, 1100));
      // Refreshed (its live token is now the newest row), yet still the oldest session.
      const refreshed = await refresh(short, oldest.refreshToken);
      expect(outcome(refreshed)).toBe('200');
      const second = await login(short, 'o-max');
      const third = await login(short, 'o-max');
      const fourth = await login(short, 'o-max');

      const list = await request(short.server)
        .get('/sessions')
        .set('authorization', `Bearer ${fourth.accessToken}`);
      expect(list.status).toBe(200);
      expect(list.body).toHaveLength(3);
      expect(list.body.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
      expect(outcome(await refresh(short, refreshed.body.refreshToken))).toBe('401 REFRESH_TOKEN_INVALID');
      for (const s of [second, third, fourth])
        expect(outcome(await refresh(short, s.refreshToken))).toBe('200');
    });
  });
});
