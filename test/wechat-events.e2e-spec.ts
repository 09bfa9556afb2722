import request from 'supertest';
import { DataSource } from 'typeorm';
import { AccountService } from '../src/account/account.service';
import { aesKeyOf } from '../src/wechat-auth/events/push-crypto';
import { EventHandlers } from '../src/wechat-auth/events/event-handlers';
import type { PushEvent } from '../src/wechat-auth/events/push-verifier';
import { mediaCheckEvent, signedPush, signedUrlCheck } from '../src/wechat-auth/sandbox/sandbox-events';
import { UsageMeter } from '../src/wechat-auth/usage/usage-meter';
import { beijingDay } from '../src/wechat-auth/usage/usage-meter';
import { FakeWechat } from './support/fake-wechat';
import { freePort } from './support/free-port';
import { createTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const TOKEN = 'e2ePushToken42';
const ENCODING_AES_KEY = 'Q2hlY2sgdGhlIHdpcmUgZm9ybWF0IGFnYWluc3QgV2U';
const PHONE_API = '/wxa/business/getuserphonenumber';
/** A marker inside pushed bodies: it must never reach a log line. */
const BODY_MARKER = 'body-marker-never-logged';

const now = () => Math.floor(Date.now() / 1000);

/** Starts an app with these push settings; collects what its handlers receive. */
async function start(env: Record<string, string>, wechat?: FakeWechat) {
  const db = await createTestDatabase();
  const t = await createTestApp({
    databaseUrl: db.url,
    ...(wechat ? { wechatApiBase: wechat.baseUrl } : {}),
    env: { WECHAT_MAX_RETRIES: '0', WECHAT_BREAKER_THRESHOLD: '1000', ...env },
  });
  const received: PushEvent[] = [];
  t.app.get(EventHandlers).on('wxa_media_check', (e) => void received.push(e));
  return { db, t, received };
}

const post = (t: TestApp, push: { query: Record<string, string>; body: unknown }) =>
  request(t.server)
    .post('/wechat/events')
    .query(push.query)
    .send(push.body as object);

describe('WeChat message push, plain mode (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  let received: PushEvent[];

  beforeAll(async () => {
    ({ db, t, received } = await start({ WECHAT_EVENT_TOKEN: TOKEN }));
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('answers the URL check with echostr as text/plain; a wrong signature is 401', async () => {
    const ok = await request(t.server)
      .get('/wechat/events')
      .query(signedUrlCheck(TOKEN, '4375120948345356249'));
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(ok.text).toBe('4375120948345356249');

    const bad = await request(t.server).get('/wechat/events').query(signedUrlCheck('wrongToken', 'x'));
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe('WX_EVENT_REJECTED');
  });

  it('a signed push is answered `success` and dispatched to the registered handler', async () => {
    const event = {
      ...mediaCheckEvent({ appid: 'wxapp_one', traceId: 'trace-plain', suggest: 'pass' }),
      BODY_MARKER,
    };
    const res = await post(t, signedPush({ token: TOKEN, appid: 'wxapp_one', event }));
    expect(res.status).toBe(200);
    expect(res.text).toBe('success');
    await t.app.get(EventHandlers).drain();
    expect(received.map((e) => e.trace_id)).toEqual(['trace-plain']);
  });

  it('a forged, an expired and a replayed push are refused and change nothing', async () => {
    const before = received.length;
    const event = mediaCheckEvent({ appid: 'wxapp_one', traceId: 'trace-bad', suggest: 'risky' });

    const forged = await post(t, signedPush({ token: 'guessedToken', appid: 'wxapp_one', event }));
    expect([forged.status, forged.body.code]).toEqual([401, 'WX_EVENT_REJECTED']);

    const expired = await post(
      t,
      signedPush({ token: TOKEN, appid: 'wxapp_one', event, timestamp: now() - 600 }),
    );
    expect([expired.status, expired.body.code]).toEqual([401, 'WX_EVENT_REJECTED']);

    const once = signedPush({
      token: TOKEN,
      appid: 'wxapp_one',
      event: { ...event, trace_id: 'trace-once' },
    });
    expect((await post(t, once)).text).toBe('success');
    const replayed = await post(t, once);
    expect([replayed.status, replayed.body.code]).toEqual([401, 'WX_EVENT_REJECTED']);

    await t.app.get(EventHandlers).drain();
    expect(received.slice(before).map((e) => e.trace_id)).toEqual(['trace-once']);
  });

  it('unknown event types are accepted and ignored', async () => {
    const res = await post(
      t,
      signedPush({ token: TOKEN, appid: 'wxapp_one', event: { MsgType: 'event', Event: 'something_new' } }),
    );
    expect([res.status, res.text]).toEqual([200, 'success']);
  });

  it('logs neither the Token nor a pushed body', () => {
    expect(t.logs.filter((l) => l.includes(TOKEN) || l.includes(BODY_MARKER))).toEqual([]);
  });
});

describe('WeChat message push, safe mode, and usage metering (e2e)', () => {
  let wechat: FakeWechat;
  let db: TestDatabase;
  let t: TestApp;
  let received: PushEvent[];
  const aesKey = aesKeyOf(ENCODING_AES_KEY);

  beforeAll(async () => {
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    ({ db, t, received } = await start(
      {
        WECHAT_EVENT_TOKEN: TOKEN,
        WECHAT_EVENT_AES_KEY: ENCODING_AES_KEY,
        PHONE_LOOKUPS_PER_APP_PER_DAY: '777',
      },
      wechat,
    ));
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await wechat?.stop();
  });

  it('an encrypted push is decrypted, answered `success` and dispatched', async () => {
    const event = {
      ...mediaCheckEvent({ appid: 'wxapp_two', traceId: 'trace-aes', suggest: 'risky' }),
      BODY_MARKER,
    };
    const push = signedPush({ token: TOKEN, aesKey, appid: 'wxapp_two', event });
    expect(JSON.stringify(push.body)).not.toContain('trace-aes');
    const res = await post(t, push);
    expect([res.status, res.text]).toEqual([200, 'success']);
    await t.app.get(EventHandlers).drain();
    expect(received.map((e) => [e.trace_id, (e.result as { suggest: string }).suggest])).toEqual([
      ['trace-aes', 'risky'],
    ]);
  });

  it('refuses a plain push (its signature does not cover the body) and a ciphertext for another appid', async () => {
    const event = mediaCheckEvent({ appid: 'wxapp_one', traceId: 'trace-x', suggest: 'pass' });
    const plain = await post(t, signedPush({ token: TOKEN, appid: 'wxapp_one', event }));
    expect([plain.status, plain.body.code]).toEqual([401, 'WX_EVENT_REJECTED']);
    const foreign = await post(t, signedPush({ token: TOKEN, aesKey, appid: 'wx_someone_else', event }));
    expect([foreign.status, foreign.body.code]).toEqual([401, 'WX_EVENT_REJECTED']);
    await t.app.get(EventHandlers).drain();
    expect(received.map((e) => e.trace_id)).not.toContain('trace-x');
  });

  it('counts an appid of the longest configurable width (64 characters) without losing the count', async () => {
    // MariaDB refused a count for an appid over 32 characters ("Data too long"): the count was lost.
    const appid = `wx${'l'.repeat(62)}`;
    const meter = t.app.get(UsageMeter);
    meter.record(appid, 'risk', true);
    await meter.flush();
    const rows = (await t.app
      .get(DataSource)
      .query('SELECT sent, answered FROM wechat_usage WHERE appid = ?', [appid])) as {
      sent: number | string;
      answered: number | string;
    }[];
    expect(rows.map((r) => [Number(r.sent), Number(r.answered)])).toEqual([[1, 1]]);
  });

  it('counts phone lookups through WeChat and reports them, with the cap, to admins only', async () => {
    const login = async (openid: string) =>
      (
        await request(t.server)
          .post('/auth/wechat/login')
          .send({ code: wechat.mint({ openid }) })
          .expect(200)
      ).body as { accessToken: string; refreshToken: string; user: { id: string } };
    const user = await login('o-usage-user');
    const bind = async (code: string) =>
      request(t.server)
        .post('/auth/wechat/phone')
        .set('authorization', `Bearer ${user.accessToken}`)
        .send({ code });

    expect((await bind(await wechat.mintPhoneCode({ openid: 'o-usage-user' }))).status).toBe(200);
    expect((await bind(await wechat.mintPhoneCode({ openid: 'o-usage-user' }))).status).toBe(200);
    // WeChat refuses a code it does not know (40029): sent and failed.
    expect((await bind('never-minted-phone-code')).status).toBe(400);
    expect(wechat.callsTo(PHONE_API)).toHaveLength(3);
    await t.app.get(UsageMeter).flush();

    const admin = await login('o-usage-admin');
    await t.app.get(AccountService).setRoles('usage-test', admin.user.id, ['admin']);
    const adminToken = (
      await request(t.server).post('/auth/refresh').send({ refreshToken: admin.refreshToken }).expect(200)
    ).body.accessToken as string;

    const today = beijingDay(Date.now());
    const report = await request(t.server)
      .get('/admin/usage/wechat')
      .query({ from: today, to: today })
      .set('authorization', `Bearer ${adminToken}`);
    expect(report.status).toBe(200);
    expect(report.headers['cache-control']).toBe('no-store');
    const one = (report.body.items as Array<Record<string, unknown>>).find((i) => i.appid === 'wxapp_one');
    expect(one).toEqual({
      appid: 'wxapp_one',
      day: today,
      phone: { sent: 3, answered: 2, failed: 1, cap: 777 },
      risk: { sent: 0, answered: 0, failed: 0, cap: null },
      text: { sent: 0, answered: 0, failed: 0, cap: null },
      media: { sent: 0, answered: 0, failed: 0, cap: null },
    });
    const two = (report.body.items as Array<Record<string, unknown>>).find((i) => i.appid === 'wxapp_two');
    expect(two?.phone).toEqual({ sent: 0, answered: 0, failed: 0, cap: 777 });

    const forbidden = await request(t.server)
      .get('/admin/usage/wechat')
      .query({ from: today, to: today })
      .set('authorization', `Bearer ${user.accessToken}`);
    expect([forbidden.status, forbidden.body.code]).toEqual([403, 'FORBIDDEN']);

    for (const query of [
      { from: '2026-02-30', to: '2026-03-01' },
      { from: '2026-12-06', to: '2026-12-05' },
      { from: '2026-01-01', to: '2026-04-03' },
      { from: 'yesterday', to: today },
      { to: today },
    ]) {
      const res = await request(t.server)
        .get('/admin/usage/wechat')
        .query(query)
        .set('authorization', `Bearer ${adminToken}`);
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
  });

  it('logs neither the Token, the AES key nor a decrypted body', () => {
    expect(
      t.logs.filter((l) => l.includes(TOKEN) || l.includes(ENCODING_AES_KEY) || l.includes(BODY_MARKER)),
    ).toEqual([]);
  });
});

describe('WeChat message push not configured (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    ({ db, t } = await start({}));
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('both routes answer 404 without WECHAT_EVENT_TOKEN', async () => {
    const get = await request(t.server).get('/wechat/events').query(signedUrlCheck(TOKEN, 'x'));
    expect([get.status, get.body.code]).toEqual([404, 'NOT_FOUND']);
    const event = { MsgType: 'event', Event: 'x' };
    const res = await post(t, signedPush({ token: TOKEN, appid: 'wxapp_one', event }));
    expect([res.status, res.body.code]).toEqual([404, 'NOT_FOUND']);
  });
});

describe('the sandbox delivers a signed, encrypted wxa_media_check push (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  const received: PushEvent[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await createTestApp({
      databaseUrl: db.url,
      listen: true,
      env: {
        PORT: String(await freePort()),
        WECHAT_SANDBOX: 'true',
        WECHAT_APPID: '',
        WECHAT_SECRET: '',
        WECHAT_APPS: '',
        WECHAT_EVENT_TOKEN: TOKEN,
        WECHAT_EVENT_AES_KEY: ENCODING_AES_KEY,
      },
    });
    t.app.get(EventHandlers).on('wxa_media_check', (e) => void received.push(e));
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('POST /sandbox/events/media-check reaches /wechat/events over HTTP and the handler', async () => {
    const res = await request(t.server)
      .post('/sandbox/events/media-check')
      .send({ traceId: 'trace-sandbox', suggest: 'risky' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 200, answer: 'success' });
    await t.app.get(EventHandlers).drain();
    expect(received.map((e) => [e.trace_id, e.appid, (e.result as { suggest: string }).suggest])).toEqual([
      ['trace-sandbox', t.config.wechat.defaultAppid, 'risky'],
    ]);
    const bad = await request(t.server)
      .post('/sandbox/events/media-check')
      .send({ traceId: 'x', suggest: 'maybe' });
    expect(bad.status).toBe(400);
  });
});
