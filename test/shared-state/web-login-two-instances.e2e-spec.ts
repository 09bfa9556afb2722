import request from 'supertest';
import type { TestApp } from '../support/test-app';
import { bindingCookie, fragmentOf, pathOf } from '../support/web-login';
import { useTwoInstances } from '../support/use-two-instances';

const RETURN_TO = 'https://m.example.com/done';

/**
 * The browser login's state and tickets live in the shared store: WeChat's redirect back may land on any
 * instance behind the load balancer, the page may redeem on any other. Redis tier only (`npm run test:mysql`).
 */
describe('web login across two instances (e2e)', () => {
  const two = useTwoInstances({
    apps: { wxoa: 'oa-secret-0123', wxweb: 'web-secret-0123' },
    env: {
      WECHAT_APPS: 'wxoa:oa-secret-0123:oa,wxweb:web-secret-0123:web',
      WECHAT_OPEN_BASE: 'https://open.weixin.qq.com',
      OAUTH_RETURN_ORIGINS: 'https://m.example.com',
    },
  });

  /** authorize on `on`; WeChat's page approves as `persona`: the callback path and the browser's cookie. */
  const startAt = async (on: TestApp, appid: string, persona = 'alice') => {
    const start = await request(on.server)
      .get('/auth/wechat/oauth/authorize')
      .query({ appid, returnTo: RETURN_TO, ...(appid === 'wxoa' ? { scope: 'snsapi_userinfo' } : {}) });
    expect(start.status).toBe(302);
    const wx = new URL(start.headers.location);
    const approved = await two.wechat.sandbox.oauthApprove({
      ...Object.fromEntries(wx.searchParams),
      persona,
      decision: 'allow',
    });
    if (!('location' in approved)) throw new Error('the sandbox did not redirect');
    return { callback: pathOf(approved.location), cookie: bindingCookie(start) };
  };

  it('a state made on one instance is completed on the other; the ticket is redeemed on the first', async () => {
    expect(two.a.config.redis.url).toBeDefined();
    const { callback, cookie } = await startAt(two.a, 'wxoa');
    const done = await request(two.b.server).get(callback).set('cookie', cookie);
    expect(done.status).toBe(302);
    const ticket = fragmentOf(done.headers.location).get('ticket');
    expect(ticket).toBeTruthy();
    const redeemed = await request(two.a.server).post('/auth/tickets/redeem').send({ ticket });
    expect(redeemed.status).toBe(200);
    expect(redeemed.body.user).toMatchObject({ nickname: 'Alice', isNew: true });
    // Spent everywhere.
    const again = await request(two.b.server).get(callback).set('cookie', cookie);
    expect(again.headers.location).toBe(done.headers.location);
    const spent = await request(two.b.server).post('/auth/tickets/redeem').send({ ticket });
    expect(spent.body.code).toBe('TICKET_INVALID');
  });

  it("WeChat's double delivery to both instances at once: one exchange at WeChat, one redirect for both", async () => {
    const { callback, cookie } = await startAt(two.b, 'wxweb');
    const before = two.wechat.callsTo('/sns/oauth2/access_token').length;
    const [x, y] = await Promise.all(
      [two.a, two.b].map((t) => request(t.server).get(callback).set('cookie', cookie)),
    );
    expect([x.status, y.status]).toEqual([302, 302]);
    expect(x.headers.location).toBe(y.headers.location);
    expect(fragmentOf(x.headers.location).get('ticket')).toBeTruthy();
    expect(two.wechat.callsTo('/sns/oauth2/access_token').length - before).toBe(1);
    expect(two.wechat.callsTo('/sns/userinfo').length).toBeGreaterThan(0);
  });

  it('one ticket redeemed on both instances at once: exactly one winner', async () => {
    const { callback, cookie } = await startAt(two.a, 'wxoa', 'bob');
    const done = await request(two.a.server).get(callback).set('cookie', cookie);
    const ticket = fragmentOf(done.headers.location).get('ticket');
    const answers = await Promise.all(
      [two.a, two.b, two.a, two.b, two.a, two.b].map((t) =>
        request(t.server).post('/auth/tickets/redeem').send({ ticket }),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401, 401]);
    for (const r of answers.filter((r) => r.status === 401)) expect(r.body.code).toBe('TICKET_INVALID');
  });
});
