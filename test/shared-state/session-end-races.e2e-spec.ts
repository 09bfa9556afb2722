import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { AccountService } from '../../src/account/account.service';
import { SessionService } from '../../src/token/sessions/session.service';
import { DelayProxy } from '../support/delay-proxy';
import { FakeWechat } from '../support/fake-wechat';
import { createTestApp, deleteRedisPrefix, REDIS_URL, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * Hardening round 2, finding 1: a refresh racing a revoke path must never mint an access token that stays
 * live. Two instances share MariaDB and a Redis 5 ms away (a delaying proxy): B refreshes a session in a loop
 * while A ends it (delete, disable, logout-all) or changes the user's roles. Before SessionService.end ordered
 * its writes (rows, then the revocation), deleting an account published the revocation first and a refresh in
 * between minted a token nothing revoked (87 of 87 runs at 5 ms).
 */
describe('revoke paths racing refreshes on another instance, Redis 5 ms away (e2e)', () => {
  const prefix = `wxauth:test:${randomBytes(4).toString('hex')}:`;
  let wechat: FakeWechat;
  let db: TestDatabase;
  let proxy: DelayProxy;
  let a: TestApp;
  let b: TestApp;
  let seq = 0;

  beforeAll(async () => {
    const target = new URL(REDIS_URL);
    proxy = await new DelayProxy({ host: target.hostname, port: Number(target.port || 6379) }, 5).start();
    wechat = await new FakeWechat({ wxapp_one: 'secret-one' }).start();
    db = await createTestDatabase();
    const opts = {
      databaseUrl: db.url,
      wechatApiBase: wechat.baseUrl,
      env: { REDIS_URL: proxy.url, REDIS_KEY_PREFIX: prefix, REFRESH_REUSE_INTERVAL: '0' },
    };
    a = await createTestApp(opts);
    b = await createTestApp(opts);
  }, 60_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await proxy?.stop();
    await deleteRedisPrefix(prefix);
    await db?.drop();
    await wechat?.stop();
  });

  const login = async () => {
    const res = await request(a.server)
      .post('/auth/wechat/login')
      .send({ code: wechat.mint({ openid: `o-race-${++seq}` }) });
    expect(res.status).toBe(200);
    return {
      userId: res.body.user.id as string,
      access: res.body.accessToken as string,
      refresh: res.body.refreshToken as string,
    };
  };

  /** Refreshes on B, each answer's token next, until refused; every access token it was handed. */
  const refreshLoop = async (refreshToken: string, stop = { now: false }): Promise<string[]> => {
    const minted: string[] = [];
    let token = refreshToken;
    for (let i = 0; i < 200 && !stop.now; i++) {
      const res = await request(b.server).post('/auth/refresh').send({ refreshToken: token });
      if (res.status !== 200) {
        expect([401, 403]).toContain(res.status);
        break;
      }
      minted.push(res.body.accessToken as string);
      token = res.body.refreshToken as string;
    }
    return minted;
  };

  const sessionOn = async (t: TestApp, access: string) =>
    request(t.server).get('/auth/session').set('authorization', `Bearer ${access}`);

  /** Every token minted during the race, once the revocation had time to travel: refused on both instances. */
  const expectAllDead = async (tokens: string[]) => {
    await new Promise((r) => setTimeout(r, 300));
    const live: string[] = [];
    for (const t of tokens)
      for (const app of [a, b]) if ((await sessionOn(app, t)).status !== 401) live.push(t.slice(-8));
    expect(live).toEqual([]);
  };

  const ROUNDS = 8;
  it.each([
    [
      'an admin deleting the account',
      (userId: string) => a.app.get(AccountService).erase(userId, '00000000-0000-4000-8000-000000000001'),
    ],
    [
      'an admin disabling the user',
      (userId: string) =>
        a.app.get(AccountService).setStatus('00000000-0000-4000-8000-000000000001', userId, 'disabled'),
    ],
    [
      'logout from every device',
      (userId: string) =>
        a.app
          .get(SessionService)
          .logout({ userId, sessionId: '00000000-0000-4000-8000-000000000002' }, { all: true }),
    ],
  ])(
    '%s: no refresh racing it on the other instance keeps a live token',
    async (_name, revoke) => {
      for (let round = 0; round < ROUNDS; round++) {
        const u = await login();
        const loop = refreshLoop(u.refresh);
        // Let the loop get going, then end the sessions on the other instance while it runs.
        await new Promise((r) => setTimeout(r, 5 + round * 3));
        await revoke(u.userId);
        const minted = await loop;
        await expectAllDead([u.access, ...minted]);
      }
    },
    120_000,
  );

  it('a role change racing refreshes: every token still accepted carries the new roles', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const u = await login();
      const stop = { now: false };
      const loop = refreshLoop(u.refresh, stop);
      await new Promise((r) => setTimeout(r, 5 + round * 3));
      await a.app.get(AccountService).setRoles('00000000-0000-4000-8000-000000000001', u.userId, ['admin']);
      // A role change does not end sessions: the loop goes on a little, then stops.
      await new Promise((r) => setTimeout(r, 100));
      stop.now = true;
      const minted = await loop;
      await new Promise((r) => setTimeout(r, 300));
      for (const t of [u.access, ...minted]) {
        for (const app of [a, b]) {
          const res = await sessionOn(app, t);
          if (res.status === 200) expect(res.body.roles).toContain('admin');
          else expect(res.status).toBe(401);
        }
      }
    }
  }, 120_000);
});
