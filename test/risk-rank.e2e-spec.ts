import { DataSource } from 'typeorm';
import { UserDirectory } from '../src/users/user-directory.service';
import { beijingDay, UsageMeter } from '../src/wechat-auth/usage/usage-meter';
import { useTestApp, type TestAppFixture } from './support/use-test-app';

const RISK_API = '/wxa/getuserriskrank';
const PHONE_API = '/wxa/business/getuserphonenumber';

type Row = Record<string, unknown>;

/** Rows of one table for one openid (raw SQL: `?` placeholders work on SQLite and MariaDB alike). */
async function identityRows(f: TestAppFixture, openid: string): Promise<Row[]> {
  return f.t.app
    .get(DataSource)
    .query('SELECT user_id, risk_rank, risk_ranked_at FROM wechat_identities WHERE openid = ?', [openid]);
}

async function countUsers(f: TestAppFixture): Promise<number> {
  const [row] = await f.t.app.get(DataSource).query('SELECT COUNT(*) AS n FROM users');
  return Number((row as Row).n);
}

async function auditRows(f: TestAppFixture, type: string): Promise<Row[]> {
  return f.t.app
    .get(DataSource)
    .query('SELECT user_id, appid, reason, details, client_ip FROM auth_events WHERE type = ?', [type]);
}

function loginWith(f: TestAppFixture, code: string) {
  return f.http().post('/auth/wechat/login').send({ code });
}

/** A logged-in admin (roles granted in the database, then a fresh login carries them). */
async function adminToken(f: TestAppFixture): Promise<string> {
  const { userId, openid } = await f.login(`o-admin-${Date.now()}`);
  await f.t.app.get(UserDirectory).setRoles(userId, ['admin']);
  return (await f.login(openid)).access;
}

describe('risk rank: WECHAT_RISK_CHECK=off (the default) (e2e)', () => {
  const f = useTestApp();

  it('changes nothing and never calls getuserriskrank: not at sign-up, not before a phone lookup', async () => {
    const { access, openid } = await f.login('o-off');
    const code = await f.wechat.mintPhoneCode({ openid, phoneNumber: '13800000001' });
    const bound = await f
      .http()
      .post('/auth/wechat/phone')
      .set('Authorization', `Bearer ${access}`)
      .send({ code });
    expect(bound.status).toBe(200);
    expect(f.wechat.callsTo(RISK_API)).toEqual([]);
    expect(await identityRows(f, 'o-off')).toEqual([
      expect.objectContaining({ risk_rank: null, risk_ranked_at: null }),
    ]);
  });
});

describe('risk rank: WECHAT_RISK_CHECK=observe (e2e)', () => {
  const f = useTestApp({ env: { WECHAT_RISK_CHECK: 'observe', TRUST_PROXY: '1' } });

  it('ranks a new user once with the trusted client address, stores the rank, lets a rank 4 in', async () => {
    const res = await loginWith(f, f.wechat.mint({ openid: 'o-watch', riskRank: 4 })).set(
      'X-Forwarded-For',
      '198.51.100.9',
    );
    expect(res.status).toBe(200);
    const calls = f.wechat.callsTo(RISK_API);
    expect(calls).toHaveLength(1);
    expect(calls[0].method).toBe('POST');
    expect(calls[0].body).toEqual({
      appid: 'wxapp_one',
      openid: 'o-watch',
      scene: 0,
      client_ip: '198.51.100.9',
    });
    const [identity] = await identityRows(f, 'o-watch');
    expect(Number(identity.risk_rank)).toBe(4);
    expect(identity.risk_ranked_at).not.toBeNull();
    const ranked = (await auditRows(f, 'risk.ranked')).filter((r) => r.user_id === null);
    expect(ranked.map((r) => JSON.parse(String(r.details)))).toContainEqual({
      riskScene: 'signup',
      riskRank: 4,
    });

    // A returning login is not a sign-up: no second call.
    expect((await loginWith(f, f.wechat.mint({ openid: 'o-watch' }))).status).toBe(200);
    expect(f.wechat.callsTo(RISK_API)).toHaveLength(1);
  });

  it('admins see each identity’s latest rank and filter the user list by it (keyset pages)', async () => {
    await f.login('o-calm'); // rank 0
    const risky = await loginWith(f, f.wechat.mint({ openid: 'o-risky-a', riskRank: 3 }));
    const risky2 = await loginWith(f, f.wechat.mint({ openid: 'o-risky-b', riskRank: 4 }));
    const admin = await adminToken(f);
    const auth = { Authorization: `Bearer ${admin}` };

    const detail = await f.http().get(`/admin/users/${risky.body.user.id}`).set(auth);
    expect(detail.status).toBe(200);
    expect(detail.body.identities).toEqual([
      expect.objectContaining({ openid: 'o-risky-a', riskRank: 3, riskRankedAt: expect.any(String) }),
    ]);

    const page1 = await f.http().get('/admin/users?riskRankMin=3&limit=1').set(auth);
    expect(page1.status).toBe(200);
    expect(page1.body.items).toHaveLength(1);
    const page2 = await f
      .http()
      .get(`/admin/users?riskRankMin=3&limit=1&cursor=${encodeURIComponent(page1.body.nextCursor)}`)
      .set(auth);
    const page3 = await f
      .http()
      .get(`/admin/users?riskRankMin=3&limit=1&cursor=${encodeURIComponent(page2.body.nextCursor)}`)
      .set(auth);
    const ids = [...page1.body.items, ...page2.body.items, ...page3.body.items].map(
      (u: { id: string }) => u.id,
    );
    // o-watch (4) from the test above, o-risky-b (4), o-risky-a (3), each once; not o-calm, not the admin.
    // (Compared as a set: on MariaDB, users created within one second tie on created_at and go by id.)
    const [watch] = await identityRows(f, 'o-watch');
    expect([...ids].sort()).toEqual([watch.user_id, risky.body.user.id, risky2.body.user.id].sort());
    expect(page3.body.nextCursor).toBeNull();

    const four = await f.http().get('/admin/users?riskRankMin=4').set(auth);
    expect(four.body.items.map((u: { id: string }) => u.id)).not.toContain(risky.body.user.id);
    expect((await f.http().get('/admin/users?riskRankMin=5').set(auth)).status).toBe(400);
    expect((await f.http().get('/admin/users?riskRankMin=3.0').set(auth)).status).toBe(400);
  });

  it('a failed check (errcode -1) fails open: the user is created, unranked, with a risk.check_failed row', async () => {
    const before = f.wechat.callsTo(RISK_API).length;
    const res = await loginWith(f, f.wechat.mint({ openid: 'o-busy', riskErrcode: -1 }));
    expect(res.status).toBe(200);
    expect(res.body.user.isNew).toBe(true);
    // -1 is not retried for this check: one call.
    expect(f.wechat.callsTo(RISK_API).length - before).toBe(1);
    expect(await identityRows(f, 'o-busy')).toEqual([expect.objectContaining({ risk_rank: null })]);
    const failed = await auditRows(f, 'risk.check_failed');
    expect(failed).toContainEqual(
      expect.objectContaining({
        reason: 'WX_UNAVAILABLE',
        appid: 'wxapp_one',
        client_ip: expect.any(String),
      }),
    );
    expect(failed.map((r) => JSON.parse(String(r.details)))).toContainEqual({
      riskScene: 'signup',
      wxErrcode: -1,
    });
  });

  it('every getuserriskrank request is metered as `risk` (GET /admin/usage/wechat)', async () => {
    const admin = await adminToken(f); // its own sign-up is ranked too
    await f.t.app.get(UsageMeter).flush();
    const sent = f.wechat.callsTo(RISK_API).filter((c) => (c.body as Row).appid === 'wxapp_one').length;
    const day = beijingDay(Date.now());
    const res = await f
      .http()
      .get(`/admin/usage/wechat?from=${day}&to=${day}`)
      .set('Authorization', `Bearer ${admin}`);
    expect(res.status).toBe(200);
    const one = res.body.items.find((i: { appid: string }) => i.appid === 'wxapp_one');
    // The -1 above is the one failure.
    expect(one.risk).toMatchObject({ sent, answered: sent - 1, failed: 1, cap: null });
  });

  it('a timeout fails open within the login’s deadline', async () => {
    f.wechat.scriptPath(RISK_API, { kind: 'hang' });
    const started = Date.now();
    const res = await loginWith(f, f.wechat.mint({ openid: 'o-hang' }));
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(f.t.config.wechat.loginDeadlineMs);
    expect(await identityRows(f, 'o-hang')).toHaveLength(1);
  });
});

describe('risk rank: WECHAT_RISK_CHECK=block, WECHAT_RISK_BLOCK_RANK=3 (e2e)', () => {
  const f = useTestApp({
    env: { WECHAT_RISK_CHECK: 'block', WECHAT_RISK_BLOCK_RANK: '3', WECHAT_TIMEOUT_MS: '1000' },
  });

  it('a high-risk sign-up is refused with 403 RISK_BLOCKED before any row is written', async () => {
    const users = await countUsers(f);
    const res = await loginWith(f, f.wechat.mint({ openid: 'o-bad', riskRank: 3 }));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('RISK_BLOCKED');
    expect(res.body.accessToken).toBeUndefined();
    expect(await identityRows(f, 'o-bad')).toEqual([]);
    expect(await countUsers(f)).toBe(users);
    const blocked = await auditRows(f, 'risk.blocked');
    expect(blocked).toEqual([
      expect.objectContaining({ user_id: null, appid: 'wxapp_one', reason: 'RISK_BLOCKED' }),
    ]);
    expect(JSON.parse(String(blocked[0].details))).toEqual({ riskScene: 'signup', riskRank: 3 });
    const failed = await auditRows(f, 'login.failed');
    expect(failed).toContainEqual(expect.objectContaining({ reason: 'RISK_BLOCKED' }));
  });

  it('two concurrent first logins of a refused person: both refused, neither writes a row', async () => {
    const codes = [1, 2].map(() => f.wechat.mint({ openid: 'o-twice', riskRank: 4 }));
    const results = await Promise.all(codes.map((code) => loginWith(f, code)));
    expect(results.map((r) => [r.status, r.body.code])).toEqual([
      [403, 'RISK_BLOCKED'],
      [403, 'RISK_BLOCKED'],
    ]);
    expect(await identityRows(f, 'o-twice')).toEqual([]);
  });

  it('a rank below the threshold signs up as usual', async () => {
    const res = await loginWith(f, f.wechat.mint({ openid: 'o-ok', riskRank: 2 }));
    expect(res.status).toBe(200);
    expect(Number((await identityRows(f, 'o-ok'))[0].risk_rank)).toBe(2);
  });

  it('a phone lookup of a user now rated high is refused before the phone API is called (no cap spent)', async () => {
    const { openid, access } = await f.login('o-later');
    // WeChat's opinion changed since the sign-up (the next wx.login carries the new rank).
    expect((await loginWith(f, f.wechat.mint({ openid, riskRank: 4 }))).status).toBe(200);
    const phoneCalls = f.wechat.callsTo(PHONE_API).length;
    const code = await f.wechat.mintPhoneCode({ openid, phoneNumber: '13800000002' });
    const res = await f
      .http()
      .post('/auth/wechat/phone')
      .set('Authorization', `Bearer ${access}`)
      .send({ code });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('RISK_BLOCKED');
    expect(f.wechat.callsTo(PHONE_API).length).toBe(phoneCalls);
    // The rank is stored on the identity (the latest one), and the refusal audited on the user.
    const [identity] = await identityRows(f, openid);
    expect(Number(identity.risk_rank)).toBe(4);
    expect(await auditRows(f, 'risk.blocked')).toContainEqual(
      expect.objectContaining({ user_id: identity.user_id, reason: 'RISK_BLOCKED' }),
    );
    const me = await f.http().get('/users/me').set('Authorization', `Bearer ${access}`);
    expect(me.body.phone).toBeNull();
  });

  it('a failed check fails open even in block mode: the phone lookup goes ahead', async () => {
    const { openid, access } = await f.login('o-phone-busy');
    f.wechat.scriptPath(RISK_API, {
      kind: 'json',
      body: { errcode: -1, errmsg: 'system error, rid: 1-2-3' },
    });
    const code = await f.wechat.mintPhoneCode({ openid, phoneNumber: '13800000003' });
    const res = await f
      .http()
      .post('/auth/wechat/phone')
      .set('Authorization', `Bearer ${access}`)
      .send({ code });
    expect(res.status).toBe(200);
    expect(await auditRows(f, 'risk.check_failed')).toContainEqual(
      expect.objectContaining({ reason: 'WX_UNAVAILABLE' }),
    );
  });
});
