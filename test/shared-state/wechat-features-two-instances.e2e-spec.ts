import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { TestApp } from '../support/test-app';
import { useTwoInstances } from '../support/use-two-instances';

/**
 * The interface access_token and the phone-lookup caps are one per app for every instance, through Redis.
 * Runs in the Redis tier only (`npm run test:mysql`).
 */
describe('WeChat interface token and phone caps across two instances (e2e)', () => {
  const two = useTwoInstances({
    env: { PHONE_LOOKUPS_PER_USER_PER_DAY: '2', PHONE_LOOKUPS_PER_APP_PER_DAY: '3' },
  });
  const loginAs = (t: TestApp, appid = 'wxapp_one') => two.login(t, undefined, appid);
  const fetchesOf = (appid: string) =>
    two.wechat.callsTo('/cgi-bin/stable_token').filter((c) => (c.body as { appid?: string }).appid === appid);

  it('30 parallel first calls on two instances make one stable_token fetch; both use that token', async () => {
    expect(two.a.config.redis.url).toBeDefined();
    const users = await Promise.all(Array.from({ length: 30 }, (_, i) => loginAs(i % 2 ? two.a : two.b)));
    const token = `shared-${randomBytes(24).toString('hex')}`;
    await two.wechat.useAccessToken('wxapp_one', token, 7200);
    // A slow fetch: the other instance must wait on the lock and read the cache, not fetch its own.
    two.wechat.scriptPath('/cgi-bin/stable_token', {
      kind: 'slow',
      ms: 300,
      then: { kind: 'json', body: { access_token: token, expires_in: 7200 } },
    });
    const results = await Promise.all(
      users.map((u, i) =>
        request((i % 2 ? two.b : two.a).server)
          .get('/auth/wechat/session')
          .set('authorization', `Bearer ${u.access}`),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(results.every((r) => r.body.valid === true)).toBe(true);
    expect(fetchesOf('wxapp_one')).toHaveLength(1);
    const used = new Set(two.wechat.callsTo('/wxa/checksession').map((c) => c.query.get('access_token')));
    expect([...used]).toEqual([token]);
  });

  it('the per-user phone cap holds across instances, refused before WeChat is called', async () => {
    const u = await loginAs(two.a);
    for (const t of [two.a, two.b]) {
      const code = await two.wechat.mintPhoneCode({ openid: u.openid });
      const res = await request(t.server)
        .post('/auth/wechat/phone')
        .set('authorization', `Bearer ${u.access}`)
        .send({ code });
      expect(res.status).toBe(200);
    }
    const before = two.wechat.callsTo('/wxa/business/getuserphonenumber').length;
    for (const t of [two.a, two.b]) {
      const res = await request(t.server)
        .post('/auth/wechat/phone')
        .set('authorization', `Bearer ${u.access}`)
        .send({ code: await two.wechat.mintPhoneCode({ openid: u.openid }) });
      expect(res.status).toBe(429);
      expect(res.body.code).toBe('PHONE_RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(two.wechat.callsTo('/wxa/business/getuserphonenumber').length).toBe(before);
  });

  it('the per-app daily budget is shared too: 3 lookups of wxapp_two in all, by three users on two instances', async () => {
    const users = await Promise.all([
      loginAs(two.a, 'wxapp_two'),
      loginAs(two.b, 'wxapp_two'),
      loginAs(two.a, 'wxapp_two'),
    ]);
    const statuses: number[] = [];
    for (const [i, u] of users.entries()) {
      const res = await request((i % 2 ? two.b : two.a).server)
        .post('/auth/wechat/phone')
        .set('authorization', `Bearer ${u.access}`)
        .send({ code: await two.wechat.mintPhoneCode({ openid: u.openid, appid: 'wxapp_two' }) });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200]);
    const late = await loginAs(two.b, 'wxapp_two');
    const over = await request(two.b.server)
      .post('/auth/wechat/phone')
      .set('authorization', `Bearer ${late.access}`)
      .send({ code: await two.wechat.mintPhoneCode({ openid: late.openid, appid: 'wxapp_two' }) });
    expect(over.status).toBe(429);
    expect(over.body.code).toBe('PHONE_RATE_LIMITED');
    expect(two.a.logs.concat(two.b.logs).some((l) => l.includes('PHONE_APP_BUDGET'))).toBe(true);
  });
});
