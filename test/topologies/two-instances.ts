import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { AccountService } from '../../src/account/account.service';
import { FakeWechat } from '../support/fake-wechat';
import { createTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * Two service instances on one Redis topology (and one database), and what they must share: the session
 * lifecycle, revocations (pub/sub, under 1 s), the login rate limit, the login-code ledger.
 */

/** Per-client login rate limit of the instances (TRUST_PROXY: each request names its client). */
export const RATE_LIMIT = 5;

export interface Session {
  userId: string;
  accessToken: string;
  refreshToken: string;
}

export class TwoInstances {
  a!: TestApp;
  b!: TestApp;
  wechat!: FakeWechat;
  db!: TestDatabase;
  readonly prefix = `wxauth:topo:${randomBytes(4).toString('hex')}:`;
  private clients = 0;

  constructor(private readonly redisEnv: Record<string, string>) {}

  async start(): Promise<void> {
    this.wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    this.db = await createTestDatabase();
    this.a = await this.app();
    // One after the other, so the second finds the migrations applied.
    this.b = await this.app();
  }

  /** Another instance on the same database and Redis. */
  app(): Promise<TestApp> {
    return createTestApp({
      databaseUrl: this.db.url,
      wechatApiBase: this.wechat.baseUrl,
      env: {
        // The topology under test, never the shared Redis the MariaDB/Redis tier points REDIS_URL at.
        REDIS_URL: '',
        REDIS_KEY_PREFIX: this.prefix,
        LOGIN_RATE_LIMIT: String(RATE_LIMIT),
        TRUST_PROXY: '1',
        LOG_LEVEL: 'info',
        ...this.redisEnv,
      },
    });
  }

  async stop(): Promise<void> {
    await this.a?.close().catch(() => undefined);
    await this.b?.close().catch(() => undefined);
    await this.db?.drop();
    await this.wechat?.stop();
  }

  /** A client address of its own (each has its own rate-limit window). */
  client(): { 'x-forwarded-for': string } {
    const n = ++this.clients;
    return { 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` };
  }

  login(t: TestApp, client = this.client()) {
    return request(t.server).post('/auth/wechat/login').set(client).send({ code: this.wechat.mint() });
  }

  async session(t: TestApp): Promise<Session> {
    const res = await this.login(t);
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 200, code: undefined });
    return {
      userId: res.body.user.id,
      accessToken: res.body.accessToken,
      refreshToken: res.body.refreshToken,
    };
  }

  check(t: TestApp, accessToken: string) {
    return request(t.server)
      .get('/auth/session')
      .set(this.client())
      .set('authorization', `Bearer ${accessToken}`);
  }

  refresh(t: TestApp, refreshToken: string) {
    return request(t.server).post('/auth/refresh').set(this.client()).send({ refreshToken });
  }

  logout(t: TestApp, accessToken: string) {
    return request(t.server)
      .post('/auth/logout')
      .set(this.client())
      .set('authorization', `Bearer ${accessToken}`)
      .send({});
  }

  /** Milliseconds until `t` refuses the token (polling every 10 ms), or Infinity after 3 s. */
  async msUntilRefused(t: TestApp, accessToken: string, since: number): Promise<number> {
    while (Date.now() - since < 3000) {
      if ((await this.check(t, accessToken)).status === 401) return Date.now() - since;
      await new Promise((r) => setTimeout(r, 10));
    }
    return Infinity;
  }
}

/** The shared-state cases every topology passes. */
export function sharedStateCases(env: () => TwoInstances): void {
  it('login on A, refresh on B, the rotated pair works on A, logout on B refuses it on A in under 1 s', async () => {
    const e = env();
    const s = await e.session(e.a);
    const refreshed = await e.refresh(e.b, s.refreshToken);
    expect(refreshed.status).toBe(200);
    const access = refreshed.body.accessToken as string;
    expect((await e.check(e.a, access)).status).toBe(200);
    const start = Date.now();
    expect((await e.logout(e.b, access)).status).toBe(204);
    expect(await e.msUntilRefused(e.a, access, start)).toBeLessThan(1000);
    expect((await e.refresh(e.a, refreshed.body.refreshToken)).status).toBe(401);
  });

  it('disabling a user on A stops their token on B in under 1 s', async () => {
    const e = env();
    const s = await e.session(e.a);
    expect((await e.check(e.b, s.accessToken)).status).toBe(200);
    const start = Date.now();
    await e.a.app.get(AccountService).setStatus('topology-test', s.userId, 'disabled');
    expect(await e.msUntilRefused(e.b, s.accessToken, start)).toBeLessThan(1000);
  });

  it('the login rate limit is shared: RATE_LIMIT logins across A and B, then 429 on either', async () => {
    const e = env();
    const client = e.client();
    for (let i = 0; i < RATE_LIMIT; i++) expect((await e.login(i % 2 ? e.a : e.b, client)).status).toBe(200);
    for (const t of [e.a, e.b]) {
      const res = await e.login(t, client);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('a login code is answered once across A and B (the shared ledger)', async () => {
    const e = env();
    const code = e.wechat.mint();
    const results = await Promise.all(
      [e.a, e.b, e.a, e.b].map((t) =>
        request(t.server).post('/auth/wechat/login').set(e.client()).send({ code }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401]);
    expect(e.wechat.callsFor(code)).toBe(1);
  });

  it('an instance started after a revocation refuses the token (warmed from the store)', async () => {
    const e = env();
    const s = await e.session(e.a);
    await e.a.app.get(AccountService).setStatus('topology-test', s.userId, 'disabled');
    const c = await e.app();
    try {
      expect((await e.check(c, s.accessToken)).status).toBe(401);
    } finally {
      await c.close();
    }
  });
}
