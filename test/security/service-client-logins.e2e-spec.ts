import request from 'supertest';
import {
  FAILED_LOGIN_WINDOW_MS,
  FAILED_LOGINS_PER_CLIENT,
  FAILED_LOGINS_PER_IP,
} from '../../src/oauth/failed-client-logins';
import { useTestApp } from '../support/use-test-app';

/**
 * Guessing a service client's secret (issue 19 item 11): failed HTTP Basic logins are limited per client
 * IP and per client id; past a limit every login of that IP or id — a right secret too — answers 429
 * CLIENT_AUTH_RATE_LIMITED with Retry-After until the window ends. Successes are not counted.
 */
describe('failed service-client logins are rate-limited (e2e)', () => {
  const ORDERS_SECRET = 'orders-secret-Jx4Pq8Lw2Nz6Rb1Tk9Vm3Yc7';
  const BILLING_SECRET = 'billing-secret-Gh5Ds0Fa8Ue3Wi6Oq2Zx9Cv4';
  const fx = useTestApp({
    env: {
      SERVICE_CLIENTS: `orders:${ORDERS_SECRET},billing:${BILLING_SECRET}`,
      WECHAT_TOKEN_CLIENTS: 'orders',
      // Out of the way: this suite is about failed logins, not the per-client request limit.
      SERVICE_CLIENT_RATE_LIMIT: '10000',
      TRUST_PROXY: 'true',
    },
  });

  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  /** An introspection from `ip` (TRUST_PROXY: the X-Forwarded-For hop is the client IP). */
  const introspect = (ip: string, authorization?: string) => {
    let req = request(fx.t.server).post('/oauth/introspect').set('x-forwarded-for', ip).type('form');
    if (authorization) req = req.set('authorization', authorization);
    return req.send({ token: 'not-a-token' });
  };
  const answer = (res: request.Response) => `${res.status} ${res.body.code ?? JSON.stringify(res.body)}`;

  it(`an IP: ${FAILED_LOGINS_PER_IP} wrong secrets are 401, the next is 429 with Retry-After; then even the right secret is 429 from it, not from elsewhere`, async () => {
    const ip = '203.0.113.1';
    const answers: string[] = [];
    for (let i = 0; i <= FAILED_LOGINS_PER_IP; i++)
      answers.push(answer(await introspect(ip, basic(i % 2 ? 'orders' : 'nobody', `guess-${i}`))));
    expect(answers).toEqual([
      ...Array(FAILED_LOGINS_PER_IP).fill('401 INVALID_CLIENT'),
      '429 CLIENT_AUTH_RATE_LIMITED',
    ]);

    const right = await introspect(ip, basic('orders', ORDERS_SECRET));
    expect(answer(right)).toBe('429 CLIENT_AUTH_RATE_LIMITED');
    const retryAfter = Number(right.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(FAILED_LOGIN_WINDOW_MS / 1000);
    expect(right.headers['www-authenticate']).toBeUndefined();
    expect(JSON.stringify(right.body)).not.toContain(ORDERS_SECRET);
    // The other service route shares the limit: it is the credentials being guessed, not the route.
    const token = await request(fx.t.server)
      .get('/internal/wechat/access-token')
      .set('x-forwarded-for', ip)
      .set('authorization', basic('orders', ORDERS_SECRET));
    expect(answer(token)).toBe('429 CLIENT_AUTH_RATE_LIMITED');

    // The same client from another address is not this IP's problem.
    expect(answer(await introspect('203.0.113.2', basic('orders', ORDERS_SECRET)))).toBe(
      '200 {"active":false}',
    );
    // No credentials at all is no guess: 401 as ever.
    expect(answer(await introspect('203.0.113.3'))).toBe('401 INVALID_CLIENT');
    expect(fx.wechat.calls).toHaveLength(0);
  });

  it('successes are not counted: a client that succeeds often still gets every failed attempt answered 401', async () => {
    const ip = '203.0.113.20';
    for (let i = 0; i < 3 * FAILED_LOGINS_PER_IP; i++)
      expect(answer(await introspect(ip, basic('orders', ORDERS_SECRET)))).toBe('200 {"active":false}');
    const failures: string[] = [];
    for (let i = 0; i < FAILED_LOGINS_PER_IP; i++)
      failures.push(answer(await introspect(ip, basic('orders', `wrong-${i}`))));
    expect(failures).toEqual(Array(FAILED_LOGINS_PER_IP).fill('401 INVALID_CLIENT'));
    expect(answer(await introspect(ip, basic('orders', ORDERS_SECRET)))).toBe('200 {"active":false}');
  });

  it(`a client id: ${FAILED_LOGINS_PER_CLIENT} wrong secrets from many IPs, then every login of that id is 429 (others unaffected)`, async () => {
    const answers: string[] = [];
    // Each IP stays under its own limit: only the per-id count can stop this.
    for (let i = 0; i <= FAILED_LOGINS_PER_CLIENT; i++)
      answers.push(answer(await introspect(`198.51.100.${i + 1}`, basic('billing', `guess-${i}`))));
    expect(answers).toEqual([
      ...Array(FAILED_LOGINS_PER_CLIENT).fill('401 INVALID_CLIENT'),
      '429 CLIENT_AUTH_RATE_LIMITED',
    ]);
    const fresh = '192.0.2.77';
    const right = await introspect(fresh, basic('billing', BILLING_SECRET));
    expect(answer(right)).toBe('429 CLIENT_AUTH_RATE_LIMITED');
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    expect(answer(await introspect(fresh, basic('orders', ORDERS_SECRET)))).toBe('200 {"active":false}');
  });
});
