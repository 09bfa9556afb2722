import request from 'supertest';
import { KvStore } from '../src/common/store/kv-store';
import type { TestApp } from './support/test-app';
import { useTestApp } from './support/use-test-app';

const PHONE_API = '/wxa/business/getuserphonenumber';

/**
 * The paid phone lookup is capped per person (the WeChat account), not per user row: deleting the account
 * and logging in again is a new user, never a new allowance; and one person cannot spend the app's day.
 */
describe('phone lookup caps hold per person (e2e)', () => {
  const fx = useTestApp({
    env: {
      WECHAT_MAX_RETRIES: '0',
      WECHAT_BREAKER_THRESHOLD: '1000',
      PHONE_LOOKUPS_PER_USER_PER_DAY: '2',
      // wxapp_one has plenty; the small-budget case uses its own app below.
      PHONE_LOOKUPS_PER_APP_PER_DAY: '1000',
    },
  });

  const login = async (openid: string, app: TestApp = fx.t, unionid?: string) => {
    const res = await request(app.server)
      .post('/auth/wechat/login')
      .send({ code: fx.wechat.mint({ openid, ...(unionid ? { unionid } : {}) }) });
    expect(res.status).toBe(200);
    return { token: res.body.accessToken as string, userId: res.body.user.id as string };
  };
  const bind = async (token: string, openid: string, app: TestApp = fx.t) =>
    request(app.server)
      .post('/auth/wechat/phone')
      .set('authorization', `Bearer ${token}`)
      .send({ code: await fx.wechat.mintPhoneCode({ openid }) });

  it('deleting the account and logging in again does not reset the cap: 429, WeChat not called', async () => {
    const openid = 'o-cap-survives-deletion';
    const first = await login(openid);
    for (let i = 0; i < 2; i++) expect((await bind(first.token, openid)).status).toBe(200);
    expect(
      (await request(fx.t.server).delete('/users/me').set('authorization', `Bearer ${first.token}`)).status,
    ).toBe(204);

    const again = await login(openid);
    expect(again.userId).not.toBe(first.userId);
    const before = fx.wechat.callsTo(PHONE_API).length;
    const res = await bind(again.token, openid);
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('PHONE_RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(fx.wechat.callsTo(PHONE_API).length).toBe(before);
  });

  it('the same person under a unionid shares the cap (merged or not, in any app)', async () => {
    const openid = 'o-cap-union';
    const u = await login(openid, fx.t, 'u-cap-union');
    for (let i = 0; i < 2; i++) expect((await bind(u.token, openid)).status).toBe(200);
    await request(fx.t.server).delete('/users/me').set('authorization', `Bearer ${u.token}`).expect(204);
    const again = await login(openid, fx.t, 'u-cap-union');
    expect((await bind(again.token, openid)).status).toBe(429);
  });

  it('no store key or log line carries the ids of a capped person', async () => {
    const keys = (await fx.t.app.get(KvStore).entries('')).map(([k]) => k);
    expect(keys.filter((k) => k.startsWith('phone:person:')).length).toBeGreaterThanOrEqual(3);
    expect(keys.filter((k) => /o-cap-|u-cap-/.test(k))).toEqual([]);
    expect(fx.t.logs.filter((l) => l.includes('o-cap-survives-deletion'))).toEqual([]);
  });
});

describe('one person cannot take a small app budget (e2e)', () => {
  const fx = useTestApp({
    env: {
      WECHAT_MAX_RETRIES: '0',
      WECHAT_BREAKER_THRESHOLD: '1000',
      PHONE_LOOKUPS_PER_USER_PER_DAY: '5',
      PHONE_LOOKUPS_PER_APP_PER_DAY: '3',
    },
  });

  it('a person looping through delete + login gets half the budget (rounded up); another user still binds', async () => {
    const openid = 'o-greedy';
    const statuses: number[] = [];
    for (let round = 0; round < 3; round++) {
      const res = await request(fx.t.server)
        .post('/auth/wechat/login')
        .send({ code: fx.wechat.mint({ openid }) });
      const token = res.body.accessToken as string;
      for (let i = 0; i < 2; i++) {
        const bound = await request(fx.t.server)
          .post('/auth/wechat/phone')
          .set('authorization', `Bearer ${token}`)
          .send({ code: await fx.wechat.mintPhoneCode({ openid }) });
        statuses.push(bound.status);
      }
      await request(fx.t.server).delete('/users/me').set('authorization', `Bearer ${token}`).expect(204);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(2);
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);

    const other = await request(fx.t.server)
      .post('/auth/wechat/login')
      .send({ code: fx.wechat.mint({ openid: 'o-patient' }) });
    const res = await request(fx.t.server)
      .post('/auth/wechat/phone')
      .set('authorization', `Bearer ${other.body.accessToken as string}`)
      .send({ code: await fx.wechat.mintPhoneCode({ openid: 'o-patient' }) });
    expect(res.status).toBe(200);
  });
});
