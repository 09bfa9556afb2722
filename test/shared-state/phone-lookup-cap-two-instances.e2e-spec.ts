import request from 'supertest';
import type { TestApp } from '../support/test-app';
import { useTwoInstances } from '../support/use-two-instances';

const PHONE_API = '/wxa/business/getuserphonenumber';

/**
 * The per-person phone cap lives in Redis under the person (a keyed hash of the WeChat ids): an account
 * deleted on one instance and logged in again on the other is still the same person there.
 * Runs in the Redis tier only (`npm run test:mysql`).
 */
describe('phone lookup caps per person across two instances (e2e)', () => {
  const two = useTwoInstances({
    env: {
      WECHAT_MAX_RETRIES: '0',
      PHONE_LOOKUPS_PER_USER_PER_DAY: '2',
      PHONE_LOOKUPS_PER_APP_PER_DAY: '1000',
    },
  });

  const bind = async (t: TestApp, token: string, openid: string) =>
    request(t.server)
      .post('/auth/wechat/phone')
      .set('authorization', `Bearer ${token}`)
      .send({ code: await two.wechat.mintPhoneCode({ openid }) });

  it('spent on a, account deleted on a, logged in again on b: still 429 on both, WeChat not called', async () => {
    expect(two.a.config.redis.url).toBeDefined();
    const openid = 'o-two-cap-person';
    const first = await two.login(two.a, openid);
    expect((await bind(two.a, first.access, openid)).status).toBe(200);
    expect((await bind(two.b, first.access, openid)).status).toBe(200);
    await request(two.a.server)
      .delete('/users/me')
      .set('authorization', `Bearer ${first.access}`)
      .expect(204);

    const again = await two.login(two.b, openid);
    expect(again.userId).not.toBe(first.userId);
    const before = two.wechat.callsTo(PHONE_API).length;
    for (const t of [two.b, two.a]) {
      const res = await bind(t, again.access, openid);
      expect(res.status).toBe(429);
      expect(res.body.code).toBe('PHONE_RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(two.wechat.callsTo(PHONE_API).length).toBe(before);
  });
});
