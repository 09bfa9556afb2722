import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { FakeWechat } from '../support/fake-wechat';
import { DURABLE_POLL_MS } from '../../src/token/revocation/revocation.service';
import { createTestApp, testEnv, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const APPS = { wxapp_one: 'secret-one', wxapp_two: 'secret-two' };
const NO_USER = '00000000-0000-4000-8000-000000000000';

/** Roles, the admin API, instant revocation, account deletion and export — each hostile case listed. */
describe('access control (e2e)', () => {
  let wechat: FakeWechat;
  let db: TestDatabase;
  let t: TestApp;
  let env: Record<string, string>;
  let seq = 0;

  const http = () => request(t.server);
  interface Session {
    openid: string;
    userId: string;
    access: string;
    refresh: string;
  }
  const login = async (openid = `o-ac-${++seq}`, extra: { unionid?: string } = {}): Promise<Session> => {
    const res = await http()
      .post('/auth/wechat/login')
      .send({ code: wechat.mint({ openid, ...extra }) });
    expect(res.status).toBe(200);
    return { openid, userId: res.body.user.id, access: res.body.accessToken, refresh: res.body.refreshToken };
  };
  const refresh = async (s: Session): Promise<Session> => {
    const res = await http().post('/auth/refresh').send({ refreshToken: s.refresh });
    expect(res.status).toBe(200);
    return { ...s, access: res.body.accessToken, refresh: res.body.refreshToken };
  };
  const as = (s: Session) => ({ authorization: `Bearer ${s.access}` });
  /** The CLI, as an operator runs it: same environment as the app. */
  const cli = (command: string, userId: string) =>
    spawnSync(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        join(__dirname, '../../src/cli/user-admin.ts'),
        command,
        userId,
      ],
      { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 },
    );

  let admin: Session;

  beforeAll(async () => {
    wechat = await new FakeWechat(APPS).start();
    db = await createTestDatabase();
    const opts = { databaseUrl: db.url, wechatApiBase: wechat.baseUrl };
    env = testEnv(opts);
    t = await createTestApp({ ...opts, env: { REDIS_KEY_PREFIX: env.REDIS_KEY_PREFIX ?? 'unused:' } });
    env = { ...env, REDIS_KEY_PREFIX: t.config.redis.keyPrefix, LOG_LEVEL: 'silent' };
    admin = await login('o-the-admin');
    const granted = cli('grant-admin', admin.userId);
    expect({ status: granted.status, stderr: granted.stderr }).toEqual({ status: 0, stderr: '' });
    expect(granted.stdout).toContain('roles admin,user');
  }, 90_000);

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await wechat?.stop();
  });

  describe('the first admin is made from the command line', () => {
    it('refuses bad usage with exit 2 and an unknown user with exit 1', () => {
      expect(cli('make-god', admin.userId).status).toBe(2);
      expect(cli('grant-admin', 'not-a-uuid').status).toBe(2);
      expect(cli('grant-admin', NO_USER).status).toBe(1);
    }, 90_000);

    it("the granted user's next token carries admin and opens /admin", async () => {
      admin = await refresh(admin);
      const me = await http().get('/auth/session').set(as(admin));
      expect(me.body.roles).toEqual(['admin', 'user']);
      expect((await http().get('/admin/users').set(as(admin))).status).toBe(200);
    });
  });

  describe('a plain user gets 403 FORBIDDEN on every admin route', () => {
    it.each([
      ['GET', '/admin/users'],
      ['GET', `/admin/users/${NO_USER}`],
      ['PATCH', `/admin/users/${NO_USER}/status`],
      ['PATCH', `/admin/users/${NO_USER}/roles`],
      ['DELETE', `/admin/users/${NO_USER}/sessions/${NO_USER}`],
      ['DELETE', `/admin/users/${NO_USER}`],
      ['GET', '/admin/audit-events'],
    ])('%s %s', async (method, path) => {
      const user = await login();
      const verb = method.toLowerCase() as 'get';
      const agent = http();
      const res = await agent[verb](path)
        .set(as(user))
        .send(method === 'PATCH' ? { status: 'disabled', roles: ['admin'] } : undefined);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    });

    it('a forged roles claim does not help (signature), and PATCH /users/me cannot set roles', async () => {
      const user = await login();
      const [h, p, sig] = user.access.split('.');
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url')}.${sig}`;
      expect((await http().get('/admin/users').set('authorization', `Bearer ${forged}`)).status).toBe(401);
      const patch = await http()
        .patch('/users/me')
        .set(as(user))
        .send({ nickname: 'x', roles: ['admin'] });
      expect(patch.status).toBe(400);
    });
  });

  describe('admin API', () => {
    it('searches users by openid, unionid, status and phone, newest first with a cursor', async () => {
      const a = await login(`o-search-${seq}`, { unionid: `u-search-${seq}` });
      const byOpenid = await http().get('/admin/users').query({ openid: a.openid }).set(as(admin));
      expect(byOpenid.body.items.map((u: { id: string }) => u.id)).toEqual([a.userId]);
      const byUnionid = await http()
        .get('/admin/users')
        .query({ unionid: `u-search-${seq}` })
        .set(as(admin));
      expect(byUnionid.body.items.map((u: { id: string }) => u.id)).toEqual([a.userId]);
      // Case matters: WeChat ids are case-sensitive.
      const cased = await http().get('/admin/users').query({ openid: a.openid.toUpperCase() }).set(as(admin));
      expect(cased.body.items).toEqual([]);

      const first = await http().get('/admin/users').query({ limit: 2 }).set(as(admin));
      expect(first.body.items).toHaveLength(2);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await http()
        .get('/admin/users')
        .query({ limit: 2, cursor: first.body.nextCursor })
        .set(as(admin));
      const ids = [...first.body.items, ...second.body.items].map((u: { id: string }) => u.id);
      expect(new Set(ids).size).toBe(ids.length);

      const active = await http().get('/admin/users').query({ status: 'active', limit: 100 }).set(as(admin));
      expect(active.body.items.every((u: { status: string }) => u.status === 'active')).toBe(true);
    });

    it.each([
      [{ limit: 0 }],
      [{ limit: 101 }],
      [{ status: 'deleted' }],
      [{ openid: 'a b' }],
      [{ cursor: 'garbage!!' }],
      [{ phone: '+86 138' }],
      [{ unknown: '1' }],
    ])('refuses the query %j with 400', async (query) => {
      const res = await http().get('/admin/users').query(query).set(as(admin));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });

    it('shows one user with identities and sessions; never a session_key; unknown ids are 404', async () => {
      const u = await login();
      const res = await http().get(`/admin/users/${u.userId}`).set(as(admin));
      expect(res.status).toBe(200);
      expect(res.body.user.id).toBe(u.userId);
      expect(res.body.identities).toEqual([
        expect.objectContaining({ appid: 'wxapp_one', openid: u.openid, hasSessionKey: true }),
      ]);
      expect(res.body.sessions).toHaveLength(1);
      expect(JSON.stringify(res.body)).not.toMatch(/sessionKey"|session_key/);
      expect((await http().get(`/admin/users/${NO_USER}`).set(as(admin))).status).toBe(404);
      expect((await http().get('/admin/users/not-a-uuid').set(as(admin))).status).toBe(404);
    });
  });

  describe('instant revocation (one instance: immediate)', () => {
    it('disabling stops the access token at once (token-only route too), refresh and login; enabling lets login back', async () => {
      const u = await login();
      expect((await http().get('/auth/session').set(as(u))).status).toBe(200);
      const disabled = await http()
        .patch(`/admin/users/${u.userId}/status`)
        .set(as(admin))
        .send({ status: 'disabled' });
      expect(disabled.status).toBe(200);
      expect(disabled.body.status).toBe('disabled');
      const session = await http().get('/auth/session').set(as(u));
      expect(session.status).toBe(401);
      expect(session.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect((await http().post('/auth/refresh').send({ refreshToken: u.refresh })).status).toBe(401);
      const relogin = await http()
        .post('/auth/wechat/login')
        .send({ code: wechat.mint({ openid: u.openid }) });
      expect(relogin.status).toBe(403);
      expect(relogin.body.code).toBe('USER_DISABLED');

      await http().patch(`/admin/users/${u.userId}/status`).set(as(admin)).send({ status: 'active' });
      const back = await login(u.openid);
      expect(back.userId).toBe(u.userId);
      expect((await http().get('/auth/session').set(as(back))).status).toBe(200);
    });

    it('a role change stops the old token; a refresh right after carries the new roles', async () => {
      const u = await login();
      const changed = await http()
        .patch(`/admin/users/${u.userId}/roles`)
        .set(as(admin))
        .send({ roles: ['admin'] });
      expect(changed.body.roles).toEqual(['admin', 'user']);
      expect((await http().get('/auth/session').set(as(u))).status).toBe(401);
      const next = await refresh(u);
      const session = await http().get('/auth/session').set(as(next));
      expect(session.status).toBe(200);
      expect(session.body.roles).toEqual(['admin', 'user']);
    });

    it('a second revocation in the same second stops a token refreshed after the first (epochs, not seconds)', async () => {
      const u = await login();
      await http()
        .patch(`/admin/users/${u.userId}/roles`)
        .set(as(admin))
        .send({ roles: ['admin'] });
      const promoted = await refresh(u);
      await http().patch(`/admin/users/${u.userId}/roles`).set(as(admin)).send({ roles: [] });
      expect((await http().get('/admin/users').set(as(promoted))).status).toBe(401);
      expect((await http().get('/auth/session').set(as(promoted))).status).toBe(401);
    });

    it('an admin naming the user or session in uppercase still stops their tokens', async () => {
      const u = await login();
      const other = await login(u.openid);
      const sid = JSON.parse(Buffer.from(u.access.split('.')[1], 'base64url').toString()).sid as string;
      const revoked = await http()
        .delete(`/admin/users/${u.userId.toUpperCase()}/sessions/${sid.toUpperCase()}`)
        .set(as(admin));
      expect(revoked.status).toBe(204);
      expect((await http().get('/auth/session').set(as(u))).status).toBe(401);
      const disabled = await http()
        .patch(`/admin/users/${u.userId.toUpperCase()}/status`)
        .set(as(admin))
        .send({ status: 'disabled' });
      expect(disabled.status).toBe(200);
      expect((await http().get('/auth/session').set(as(other))).status).toBe(401);
    });

    it.each([
      [{ roles: ['root'] }],
      [{ roles: 'admin' }],
      [{ roles: ['admin', 'admin'] }],
      [{ status: 'banned' }],
    ])('refuses the body %j with 400', async (body) => {
      const u = await login();
      const path = 'roles' in body ? 'roles' : 'status';
      const res = await http().patch(`/admin/users/${u.userId}/${path}`).set(as(admin)).send(body);
      expect(res.status).toBe(400);
    });

    it('logout stops that session’s access token; logout all stops every session’s', async () => {
      const u = await login();
      const other = await login(u.openid);
      expect((await http().post('/auth/logout').set(as(u)).send({})).status).toBe(204);
      expect((await http().get('/auth/session').set(as(u))).status).toBe(401);
      expect((await http().get('/auth/session').set(as(other))).status).toBe(200);
      const third = await login(u.openid);
      expect((await http().post('/auth/logout').set(as(third)).send({ all: true })).status).toBe(204);
      expect((await http().get('/auth/session').set(as(other))).status).toBe(401);
      expect((await http().get('/auth/session').set(as(third))).status).toBe(401);
    });

    it('an admin revoking one session stops its access token, not the user’s other sessions', async () => {
      const u = await login();
      const other = await login(u.openid);
      const sid = JSON.parse(Buffer.from(u.access.split('.')[1], 'base64url').toString()).sid;
      const res = await http().delete(`/admin/users/${u.userId}/sessions/${sid}`).set(as(admin));
      expect(res.status).toBe(204);
      expect((await http().get('/auth/session').set(as(u))).status).toBe(401);
      expect((await http().get('/auth/session').set(as(other))).status).toBe(200);
      // Someone else's session id under this user: 404, like a missing one.
      const stranger = await login();
      const strangerSid = JSON.parse(Buffer.from(stranger.access.split('.')[1], 'base64url').toString()).sid;
      expect(
        (await http().delete(`/admin/users/${u.userId}/sessions/${strangerSid}`).set(as(admin))).status,
      ).toBe(404);
    });
  });

  describe('account deletion and export (PIPL)', () => {
    it('export returns everything held about the caller, without the session_key', async () => {
      const u = await login();
      const res = await http().get('/users/me/export').set(as(u));
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.user.id).toBe(u.userId);
      expect(res.body.identities).toEqual([
        expect.objectContaining({ openid: u.openid, appid: 'wxapp_one' }),
      ]);
      expect(res.body.sessions).toHaveLength(1);
      expect(res.body.events.map((e: { type: string }) => e.type)).toContain('login.succeeded');
      for (const key of wechat.sessionKeys) expect(res.text).not.toContain(key);
    });

    it('DELETE /users/me: 204, every token dies at once, data erased, audit rows stay without personal data, a new login is a new user', async () => {
      const u = await login();
      const second = await login(u.openid);
      const del = await http().delete('/users/me').set(as(u));
      expect(del.status).toBe(204);
      for (const s of [u, second]) {
        expect((await http().get('/auth/session').set(as(s))).status).toBe(401);
        expect((await http().post('/auth/refresh').send({ refreshToken: s.refresh })).status).toBe(401);
      }
      const ds = t.app.get(DataSource);
      expect(await ds.query(`SELECT id FROM users WHERE id = '${u.userId}'`)).toEqual([]);
      expect(await ds.query(`SELECT id FROM wechat_identities WHERE openid = '${u.openid}'`)).toEqual([]);
      const events = await http().get('/admin/audit-events').query({ userId: u.userId }).set(as(admin));
      expect(events.body.items.map((e: { type: string }) => e.type)).toContain('user.deleted');
      for (const e of events.body.items as { clientIp: unknown; details: unknown; type: string }[]) {
        expect(e.clientIp).toBeNull();
        if (e.type !== 'user.deleted') expect(e.details).toBeNull();
      }
      const again = await login(u.openid);
      expect(again.userId).not.toBe(u.userId);
    });

    it('an admin can delete a user too', async () => {
      const u = await login();
      expect((await http().delete(`/admin/users/${u.userId}`).set(as(admin))).status).toBe(204);
      expect((await http().get('/auth/session').set(as(u))).status).toBe(401);
      expect((await http().delete(`/admin/users/${u.userId}`).set(as(admin))).status).toBe(404);
    });
  });

  describe('audit trail', () => {
    it('records logins (success and failure with its reason), refreshes and admin actions, with request id and IP', async () => {
      const u = await login();
      await refresh(u);
      const bad = await http().post('/auth/wechat/login').send({ code: 'no-such-code' });
      expect(bad.status).toBe(401);
      await http().patch(`/admin/users/${u.userId}/status`).set(as(admin)).send({ status: 'disabled' });
      const mine = await http().get('/admin/audit-events').query({ userId: u.userId }).set(as(admin));
      const types = mine.body.items.map((e: { type: string }) => e.type);
      expect(types).toEqual(expect.arrayContaining(['login.succeeded', 'token.refreshed', 'user.disabled']));
      const disabled = mine.body.items.find((e: { type: string }) => e.type === 'user.disabled');
      expect(disabled).toMatchObject({
        actorId: admin.userId,
        requestId: expect.any(String),
        clientIp: expect.any(String),
      });
      const failed = await http().get('/admin/audit-events').query({ type: 'login.failed' }).set(as(admin));
      expect(failed.body.items[0]).toMatchObject({ reason: 'WX_CODE_INVALID', userId: null });
      // Every event an HTTP request caused carries that request's id and the client's IP (passed down
      // explicitly from the controller or the login strategy).
      for (const e of [...mine.body.items, failed.body.items[0]] as {
        requestId: unknown;
        clientIp: unknown;
      }[])
        expect(e).toMatchObject({
          requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          clientIp: expect.stringMatching(/^[0-9a-f.:]+$/),
        });
      const all = await http().get('/admin/audit-events').query({ limit: 100 }).set(as(admin));
      expect(all.text).not.toContain('no-such-code');
      for (const code of wechat.mintedCodes) expect(all.text).not.toContain(code);
    });
  });
  describe('hardening round 2: what ends an account, and who sees it', () => {
    it("the user's export keeps what an admin did, without the admin's id, IP or request id", async () => {
      const u = await login();
      const other = await login(u.openid);
      // The other device's session (not the one u exports with).
      const sessions = (await http().get('/sessions').set(as(u))).body as { id: string; current: boolean }[];
      const sid = sessions.find((x) => !x.current)!.id;
      expect(other.userId).toBe(u.userId);
      const del = await http().delete(`/admin/users/${u.userId}/sessions/${sid}`).set(as(admin));
      expect(del.status).toBe(204);
      const res = await http().get('/users/me/export').set(as(u));
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 200, code: undefined });
      const revoked = (res.body.events as Record<string, unknown>[]).find(
        (e) => e.type === 'session.revoked',
      );
      expect(revoked).toMatchObject({ actorId: null, clientIp: null, requestId: null, initiator: 'admin' });
      expect(res.text).not.toContain(admin.userId);
      // The user's own events keep their IP.
      const own = (res.body.events as Record<string, unknown>[]).find((e) => e.type === 'login.succeeded');
      expect(own?.clientIp).toEqual(expect.any(String));
    });

    it('the CLI re-enables a disabled user, and never purges the audit trail', async () => {
      const u = await login();
      const ds = t.app.get(DataSource);
      const oldId = '01AAAAAAAAAAAAAAAAAAAAAAAA';
      await ds.query(
        `INSERT INTO auth_events (id, occurred_at, type, user_id) VALUES ('${oldId}', '2020-01-01 00:00:00.000', 'login.failed', NULL)`,
      );
      const off = cli('disable', u.userId);
      expect({ status: off.status, stdout: off.stdout }).toEqual({
        status: 0,
        stdout: `${u.userId}: status disabled\n`,
      });
      // Disabling ended the sessions too: the refresh token is revoked.
      expect((await http().post('/auth/refresh').send({ refreshToken: u.refresh })).status).toBe(401);
      // Another process's revocation reaches this one: through Redis at once, or with the in-process store from the
      // database within DURABLE_POLL_MS.
      let status = 0;
      for (const until = Date.now() + DURABLE_POLL_MS + 2000; Date.now() < until;) {
        status = (await http().get('/auth/session').set(as(u))).status;
        if (status === 401) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(401);
      const on = cli('enable', u.userId);
      expect({ status: on.status, stdout: on.stdout }).toEqual({
        status: 0,
        stdout: `${u.userId}: status active\n`,
      });
      await login(u.openid);
      // A one-day retention in the CLI's environment purges nothing: only the server runs the purge.
      const withRetention = spawnSync(
        process.execPath,
        [
          '-r',
          'ts-node/register/transpile-only',
          join(__dirname, '../../src/cli/user-admin.ts'),
          'enable',
          u.userId,
        ],
        { env: { ...process.env, ...env, AUDIT_RETENTION_DAYS: '1' }, encoding: 'utf8', timeout: 60_000 },
      );
      expect(withRetention.status).toBe(0);
      expect(await ds.query(`SELECT id FROM auth_events WHERE id = '${oldId}'`)).toHaveLength(1);
    }, 120_000);

    it('the last active admin cannot be demoted, disabled or deleted (409 LAST_ADMIN), by the API or the CLI', async () => {
      const ds = t.app.get(DataSource);
      // Only `admin` keeps the role (earlier tests granted it to others).
      await ds.query(
        `UPDATE users SET roles = 'user' WHERE id <> '${admin.userId}' AND roles LIKE '%admin%'`,
      );
      const self = admin.userId;
      for (const [method, path, body] of [
        ['patch', `/admin/users/${self}/roles`, { roles: [] }],
        ['patch', `/admin/users/${self}/status`, { status: 'disabled' }],
        ['delete', `/admin/users/${self}`, undefined],
        ['delete', '/users/me', undefined],
      ] as const) {
        const res = await http()[method](path).set(as(admin)).send(body);
        expect({ path, status: res.status, code: res.body.code }).toEqual({
          path,
          status: 409,
          code: 'LAST_ADMIN',
        });
      }
      const demote = cli('revoke-admin', self);
      expect(demote.status).toBe(1);
      expect(demote.stderr).toContain('LAST_ADMIN');
      expect((await http().get('/admin/users').set(as(admin))).status).toBe(200);

      // With a second admin, the first may go: the two cannot both demote each other.
      const second = await login();
      expect(cli('grant-admin', second.userId).status).toBe(0);
      const secondAdmin = await refresh(second);
      const [x, y] = await Promise.all([
        http().patch(`/admin/users/${second.userId}/roles`).set(as(admin)).send({ roles: [] }),
        http().patch(`/admin/users/${self}/roles`).set(as(secondAdmin)).send({ roles: [] }),
      ]);
      // One wins; the other is refused — LAST_ADMIN, or 401 when the winner's revocation of its token came first.
      const statuses = [x.status, y.status].sort();
      expect(statuses[0]).toBe(200);
      expect([401, 409]).toContain(statuses[1]);
      const admins = await ds.query(`SELECT id FROM users WHERE roles LIKE '%admin%' AND status = 'active'`);
      expect(admins).toHaveLength(1);
    }, 120_000);
  });
});
