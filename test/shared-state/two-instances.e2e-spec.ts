import request from 'supertest';
import { useTwoInstances } from '../support/use-two-instances';

/**
 * Two instances behind a load balancer, sharing the database and Redis, behave like one.
 * Runs in the Redis tier only (`npm run test:mysql`); see jest.config.js.
 */
describe('two instances sharing Redis (e2e)', () => {
  const two = useTwoInstances();

  it('the same code ×20 across both instances → one upstream call, one success, the rest WX_CODE_USED', async () => {
    expect(two.a.config.redis.url).toBeDefined();
    const code = two.wechat.mint({ openid: 'o-two-instances' });
    two.wechat.script(code, {
      kind: 'slow',
      ms: 200,
      then: {
        kind: 'raw',
        body: JSON.stringify({ openid: 'o-two-instances', session_key: 'dHdvLWluc3RhbmNlcy1rZXk=' }),
      },
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request((i % 2 ? two.a : two.b).server)
          .post('/auth/wechat/login')
          .send({ code }),
      ),
    );
    expect(two.wechat.callsFor(code)).toBe(1);
    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401).map((r) => r.body.code)).toEqual(
      Array(19).fill('WX_CODE_USED'),
    );

    // Later, on either instance: still used, still no call.
    const later = await request(two.a.server).post('/auth/wechat/login').send({ code });
    expect(later.body.code).toBe('WX_CODE_USED');
    expect(two.wechat.callsFor(code)).toBe(1);
  });

  it('45011 seen by one instance stops the other from calling WeChat for that appid', async () => {
    const code = two.wechat.mint({ appid: 'wxapp_two' });
    two.wechat.script(code, { kind: 'json', body: { errcode: 45011, errmsg: 'minute quota' } });
    expect(
      (await request(two.a.server).post('/auth/wechat/login').send({ code, appid: 'wxapp_two' })).status,
    ).toBe(429);
    const before = two.wechat.calls.length;
    const other = await request(two.b.server)
      .post('/auth/wechat/login')
      .send({ code: two.wechat.mint({ appid: 'wxapp_two' }), appid: 'wxapp_two' });
    expect(other.status).toBe(429);
    expect(other.body.code).toBe('WX_RATE_LIMITED');
    expect(two.wechat.calls.length).toBe(before);
  });

  it('a session made on one instance refreshes on the other', async () => {
    const login = await request(two.a.server).post('/auth/wechat/login').send({ code: two.wechat.mint() });
    const refreshed = await request(two.b.server)
      .post('/auth/refresh')
      .send({ refreshToken: login.body.refreshToken });
    expect(refreshed.status).toBe(200);
    const me = await request(two.b.server)
      .get('/users/me')
      .set('authorization', `Bearer ${login.body.accessToken}`);
    expect(me.body.id).toBe(login.body.user.id);
  });
});
