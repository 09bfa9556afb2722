import request from 'supertest';
import { useTestApp } from './support/use-test-app';

describe('login rate limit (e2e)', () => {
  // Behind one proxy: the client is the address the proxy appended, whatever the client put before it.
  const fx = useTestApp({ env: { LOGIN_RATE_LIMIT: '3', TRUST_PROXY: '1' } });

  // A client rotating a spoofed X-Forwarded-For prefix stays one client: the proxy's appended address counts.
  const asClient = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i}, 203.0.113.7` });

  it('answers 429 RATE_LIMITED with Retry-After past the limit, without calling WeChat', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await request(fx.t.server)
        .post('/auth/wechat/login')
        .set(asClient(i))
        .send({ code: fx.wechat.mint() });
      expect(res.status).toBe(200);
    }
    const calls = fx.wechat.calls.length;
    const res = await request(fx.t.server)
      .post('/auth/wechat/login')
      .set(asClient(99))
      .send({ code: fx.wechat.mint() });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('RATE_LIMITED');
    // Seconds left in the one-minute window, not a generic default.
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(55);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.headers['retry-after-default']).toBeUndefined();
    expect(fx.wechat.calls.length).toBe(calls);

    // Another client (another proxy-appended address) has its own budget.
    const other = await request(fx.t.server)
      .post('/auth/wechat/login')
      .set({ 'x-forwarded-for': '203.0.113.8' })
      .send({ code: fx.wechat.mint() });
    expect(other.status).toBe(200);
  });
});
