import request from 'supertest';
import { DataSource } from 'typeorm';
import { AccountService } from '../src/account/account.service';
import { Clock } from '../src/common/clock/clock';
import { User } from '../src/users/user.entity';
import { AvatarRecheck } from '../src/wechat-auth/content/avatar-recheck';
import { EventHandlers } from '../src/wechat-auth/events/event-handlers';
import { mediaCheckEvent, signedPush } from '../src/wechat-auth/sandbox/sandbox-events';
import type { SandboxMediaCheck } from '../src/wechat-auth/sandbox/sandbox-wechat';
import { UsageMeter } from '../src/wechat-auth/usage/usage-meter';
import { beijingDay } from '../src/wechat-auth/usage/usage-meter';
import { useSandboxApp, useTestApp, type TestAppFixture } from './support/use-test-app';
import { SkewedClock } from './support/skewed-clock';

const TOKEN = 'contentPushToken42';
const TEXT_API = '/wxa/msg_sec_check';
const MEDIA_API = '/wxa/media_check_async';
const MINUTE = 60_000;

/** Requests of one signed-in user. */
function userOf(f: TestAppFixture, access: string) {
  const auth = { authorization: `Bearer ${access}` };
  return {
    patch: (body: Record<string, unknown>) => f.http().patch('/users/me').set(auth).send(body),
    me: async () => (await f.http().get('/users/me').set(auth).expect(200)).body as Record<string, unknown>,
  };
}

/** WeChat's push of a verdict, signed with `token`; resolves once its handler has run. */
async function deliver(f: TestAppFixture, check: SandboxMediaCheck, token = TOKEN): Promise<number> {
  const push = signedPush({ token, appid: check.appid, event: mediaCheckEvent(check) });
  const res = await f
    .http()
    .post('/wechat/events')
    .query(push.query)
    .send(push.body as object);
  await f.t.app.get(EventHandlers).drain();
  return res.status;
}

const row = (f: TestAppFixture, id: string) =>
  f.t.app.get(DataSource).getRepository(User).findOneByOrFail({ id });

describe('content checks on the profile, WECHAT_CONTENT_CHECK=on (e2e)', () => {
  const clock = new SkewedClock();
  const f = useTestApp({
    env: { WECHAT_CONTENT_CHECK: 'on', WECHAT_EVENT_TOKEN: TOKEN, WECHAT_MAX_RETRIES: '0' },
    override: (b) => b.overrideProvider(Clock).useValue(clock),
  });
  const lastCheck = () => f.wechat.mediaChecks[f.wechat.mediaChecks.length - 1];

  it('a nickname that passes is saved; msg_sec_check gets version 2, scene 1 and the session app’s openid', async () => {
    const { access, openid } = await f.login('o-content-pass');
    const res = await userOf(f, access).patch({ nickname: 'Alice' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ nickname: 'Alice', avatarStatus: 'none' });
    const call = f.wechat.callsTo(TEXT_API).at(-1)!;
    expect(call.body).toEqual({ content: 'Alice', version: 2, scene: 1, openid });
    expect(call.query.get('access_token')).toBeTruthy();
  });

  it('a risky nickname → 422 CONTENT_REJECTED with the label; the old nickname (and the avatar sent with it) kept', async () => {
    const { access } = await f.login('o-content-risky');
    const u = userOf(f, access);
    expect((await u.patch({ nickname: 'Bob' })).status).toBe(200);
    const media = f.wechat.callsTo(MEDIA_API).length;
    const res = await u.patch({ nickname: 'risky Bob', avatarUrl: 'https://cdn.example.com/new.png' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'CONTENT_REJECTED', details: ['label:20001'] });
    expect(f.wechat.callsTo(MEDIA_API)).toHaveLength(media);
    expect(await u.me()).toMatchObject({ nickname: 'Bob', avatarUrl: null, avatarStatus: 'none' });
  });

  it('a nickname for review is saved and flagged for admins (GET /admin/users/{id})', async () => {
    const { access, userId } = await f.login('o-content-review');
    const res = await userOf(f, access).patch({ nickname: 'please review me' });
    expect(res.status).toBe(200);
    expect(res.body.nickname).toBe('please review me');
    const admin = await f.login('o-content-admin');
    await f.t.app.get(AccountService).setRoles('content-test', admin.userId, ['admin']);
    const refreshed = await f.http().post('/auth/refresh').send({ refreshToken: admin.refresh }).expect(200);
    const view = await f
      .http()
      .get(`/admin/users/${userId}`)
      .set('authorization', `Bearer ${refreshed.body.accessToken as string}`);
    expect(view.status).toBe(200);
    expect(view.body.user.contentChecks).toMatchObject({ nicknameReview: true, avatarStatus: 'none' });
    const list = await f
      .http()
      .get('/admin/users')
      .query({ needsReview: 'true' })
      .set('authorization', `Bearer ${refreshed.body.accessToken as string}`);
    expect(list.status).toBe(200);
    expect((list.body.items as Array<{ id: string }>).map((u) => u.id)).toEqual([userId]);
  });

  it('a new avatar stays pending (the previous one shown) until WeChat passes it; media_check_async got the wire fields', async () => {
    const { access, openid } = await f.login('o-content-avatar');
    const u = userOf(f, access);
    const first = await u.patch({ avatarUrl: 'https://cdn.example.com/first.png' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ avatarUrl: null, avatarStatus: 'pending' });
    expect(f.wechat.callsTo(MEDIA_API).at(-1)!.body).toEqual({
      media_url: 'https://cdn.example.com/first.png',
      media_type: 2,
      version: 2,
      scene: 1,
      openid,
    });
    expect(await deliver(f, lastCheck())).toBe(200);
    expect(await u.me()).toMatchObject({
      avatarUrl: 'https://cdn.example.com/first.png',
      avatarStatus: 'approved',
    });

    // The next one: the first stays visible while it waits.
    await u.patch({ avatarUrl: 'https://cdn.example.com/second.png' }).expect(200);
    expect(await u.me()).toMatchObject({
      avatarUrl: 'https://cdn.example.com/first.png',
      avatarStatus: 'pending',
    });
    await deliver(f, lastCheck());
    expect(await u.me()).toMatchObject({
      avatarUrl: 'https://cdn.example.com/second.png',
      avatarStatus: 'approved',
    });
  });

  it('a risky avatar never shows: dropped, status rejected, the previous avatar kept; a repeated push changes nothing', async () => {
    const { access, userId } = await f.login('o-content-avatar-risky');
    const u = userOf(f, access);
    await u.patch({ avatarUrl: 'https://cdn.example.com/ok.png' }).expect(200);
    await deliver(f, lastCheck());
    await u.patch({ avatarUrl: 'https://cdn.example.com/risky.png' }).expect(200);
    const check = lastCheck();
    expect(check.suggest).toBe('risky');
    expect(await u.me()).toMatchObject({
      avatarUrl: 'https://cdn.example.com/ok.png',
      avatarStatus: 'pending',
    });
    await deliver(f, check);
    expect(await u.me()).toMatchObject({
      avatarUrl: 'https://cdn.example.com/ok.png',
      avatarStatus: 'rejected',
    });
    expect((await row(f, userId)).avatarPendingUrl).toBeNull();

    // WeChat repeats its push, and a pass for the same trace id cannot bring the avatar back either.
    await deliver(f, check);
    await deliver(f, { ...check, suggest: 'pass', label: 100 });
    expect(await u.me()).toMatchObject({
      avatarUrl: 'https://cdn.example.com/ok.png',
      avatarStatus: 'rejected',
    });
    // An unknown trace id is dropped.
    expect(await deliver(f, { ...check, traceId: 'unknown-trace-1', suggest: 'pass' })).toBe(200);
  });

  it('a forged push (wrong token) is refused and changes nothing', async () => {
    const { access } = await f.login('o-content-forged');
    const u = userOf(f, access);
    await u.patch({ avatarUrl: 'https://cdn.example.com/risky-forged.png' }).expect(200);
    const check = lastCheck();
    expect(await deliver(f, { ...check, suggest: 'pass', label: 100 }, 'forgedToken99')).toBe(401);
    expect(await u.me()).toMatchObject({ avatarUrl: null, avatarStatus: 'pending' });
    // The user's export holds the pending avatar too (it is their data).
    const exported = await f.http().get('/users/me/export').set('authorization', `Bearer ${access}`);
    expect(exported.status).toBe(200);
    expect(exported.body.user).toMatchObject({
      avatarUrl: null,
      avatarPendingUrl: 'https://cdn.example.com/risky-forged.png',
    });
    await deliver(f, check);
    expect(await u.me()).toMatchObject({ avatarUrl: null, avatarStatus: 'rejected' });
  });

  it('a push that arrives before the profile update commits still settles it', async () => {
    const { access } = await f.login('o-content-early');
    // WeChat answers this trace id, and its verdict is pushed before the update has written anything.
    f.wechat.scriptPath(MEDIA_API, {
      kind: 'json',
      body: { errcode: 0, errmsg: 'ok', trace_id: 'trace-early-1' },
    });
    expect(
      await deliver(f, { appid: 'wxapp_one', traceId: 'trace-early-1', suggest: 'pass', label: 100 }),
    ).toBe(200);
    const res = await userOf(f, access).patch({ avatarUrl: 'https://cdn.example.com/early.png' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      avatarUrl: 'https://cdn.example.com/early.png',
      avatarStatus: 'approved',
    });
  });

  it('an avatar without a verdict is re-submitted once after 30 minutes, then left pending for admins', async () => {
    const { access, userId } = await f.login('o-content-silent');
    await userOf(f, access).patch({ avatarUrl: 'https://cdn.example.com/silent.png' }).expect(200);
    const sends = () =>
      f.wechat
        .callsTo(MEDIA_API)
        .filter((c) => (c.body as { media_url?: string }).media_url?.includes('silent')).length;
    const recheck = f.t.app.get(AvatarRecheck);
    expect(sends()).toBe(1);
    clock.offset += 29 * MINUTE;
    expect(await recheck.runOnce()).toBe(0);
    clock.offset += 2 * MINUTE;
    // Two instances at once: the row claim lets one of them send.
    expect((await Promise.all([recheck.runOnce(), recheck.runOnce()])).reduce((a, b) => a + b)).toBe(1);
    expect(sends()).toBe(2);
    clock.offset += 31 * MINUTE;
    expect(await recheck.runOnce()).toBe(0);
    expect(sends()).toBe(2);
    expect(await row(f, userId)).toMatchObject({
      avatarStatus: 'pending',
      avatarResubmitted: true,
      avatarPendingUrl: 'https://cdn.example.com/silent.png',
      avatarUrl: null,
    });
  });

  it('the checks are metered as text and media', async () => {
    await f.t.app.get(UsageMeter).flush();
    const admin = await f.login('o-content-usage-admin');
    await f.t.app.get(AccountService).setRoles('content-test', admin.userId, ['admin']);
    const refreshed = await f.http().post('/auth/refresh').send({ refreshToken: admin.refresh }).expect(200);
    const today = beijingDay(clock.now());
    const report = await f
      .http()
      .get('/admin/usage/wechat')
      .query({ from: beijingDay(Date.now()), to: today })
      .set('authorization', `Bearer ${refreshed.body.accessToken as string}`);
    expect(report.status).toBe(200);
    const items = report.body.items as Array<Record<string, { sent: number }>>;
    const sum = (kind: string) => items.reduce((n, i) => n + (i[kind]?.sent ?? 0), 0);
    expect(sum('text')).toBe(f.wechat.callsTo(TEXT_API).length);
    // The scripted answer (push-before-commit) was sent too: every request that left is counted.
    expect(sum('media')).toBe(f.wechat.callsTo(MEDIA_API).length);
  });
});

describe('content checks off (the default) (e2e)', () => {
  const f = useTestApp({ env: { WECHAT_EVENT_TOKEN: TOKEN } });

  it('saves the profile as sent and makes no WeChat call', async () => {
    const { access } = await f.login('o-content-off');
    const res = await userOf(f, access).patch({
      nickname: 'risky but unchecked',
      avatarUrl: 'https://cdn.example.com/risky.png',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      nickname: 'risky but unchecked',
      avatarUrl: 'https://cdn.example.com/risky.png',
      avatarStatus: 'none',
    });
    expect(f.wechat.callsTo(TEXT_API)).toHaveLength(0);
    expect(f.wechat.callsTo(MEDIA_API)).toHaveLength(0);
    expect(f.wechat.mediaChecks).toHaveLength(0);
  });
});

describe('content checks against the mounted sandbox: it pushes the verdict itself (e2e)', () => {
  const app = useSandboxApp({
    apps: '',
    env: { WECHAT_CONTENT_CHECK: 'on', WECHAT_EVENT_TOKEN: TOKEN, SANDBOX_MEDIA_CHECK_DELAY_MS: '0' },
  });

  /** The avatar status once the sandbox's push has landed (it travels over HTTP: polled, at most ~5 s). */
  async function settled(access: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 100; i++) {
      const me = await request(app.t.server)
        .get('/users/me')
        .set('authorization', `Bearer ${access}`)
        .expect(200);
      if (me.body.avatarStatus !== 'pending') return me.body as Record<string, unknown>;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the sandbox never pushed a verdict');
  }

  it('pass publishes, risky drops: the signed push arrives at /wechat/events by itself', async () => {
    const minted = await request(app.t.server)
      .post('/sandbox/wechat/codes')
      .send({ openid: 'o-sandbox-content' });
    const login = await request(app.t.server)
      .post('/auth/wechat/login')
      .send({ code: minted.body.code })
      .expect(200);
    const access = login.body.accessToken as string;
    const patch = (body: Record<string, unknown>) =>
      request(app.t.server).patch('/users/me').set('authorization', `Bearer ${access}`).send(body);

    expect((await patch({ nickname: 'risky name' })).status).toBe(422);
    expect((await patch({ avatarUrl: 'https://cdn.example.com/fine.png' })).body.avatarStatus).toBe(
      'pending',
    );
    expect(await settled(access)).toMatchObject({
      avatarUrl: 'https://cdn.example.com/fine.png',
      avatarStatus: 'approved',
    });
    await patch({ avatarUrl: 'https://cdn.example.com/risky.png' }).expect(200);
    expect(await settled(access)).toMatchObject({
      avatarUrl: 'https://cdn.example.com/fine.png',
      avatarStatus: 'rejected',
    });
  });
});
