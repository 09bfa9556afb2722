import request from 'supertest';
import { DataSource } from 'typeorm';
import { TEST_DB } from '../support/test-database';
import { useTwoInstances } from '../support/use-two-instances';

const outcome = (r: request.Response) => (r.status === 200 ? '200' : `${r.status} ${r.body?.code}`);

/**
 * Parallel refreshes of one token split across two instances behind a load balancer, sharing the
 * database and Redis: the winner's pair, kept encrypted in Redis, is what the other instance answers.
 * Runs in the Redis tier only (`TEST_REDIS=1`); see jest.config.js.
 */
describe(`refresh races across two instances (e2e, ${TEST_DB} + Redis)`, () => {
  const two = useTwoInstances();

  it.each([5, 50])(
    '%i parallel refreshes of one token, alternating instances → all 200, one pair; it refreshes again on either',
    async (n) => {
      expect(two.a.config.redis.url).toBeDefined();
      const login = await request(two.a.server)
        .post('/auth/wechat/login')
        .send({ code: two.wechat.mint({ openid: `o-two-${n}` }) });
      expect(login.status).toBe(200);

      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          request((i % 2 ? two.a : two.b).server)
            .post('/auth/refresh')
            .send({ refreshToken: login.body.refreshToken }),
        ),
      );
      expect(results.map(outcome)).toEqual(Array(n).fill('200'));
      expect(new Set(results.map((r) => r.body.refreshToken)).size).toBe(1);
      expect(new Set(results.map((r) => r.body.accessToken)).size).toBe(1);

      // One rotation in the shared database: the login's row and its one successor.
      const rows: { revoked_at: Date | null }[] = await two.a.app
        .get(DataSource)
        .query('SELECT revoked_at FROM refresh_tokens WHERE user_id = ?', [login.body.user.id]);
      expect(rows).toHaveLength(2);
      expect(rows.filter((r) => r.revoked_at === null)).toHaveLength(1);

      const successor = results[0].body;
      const me = await request(two.a.server)
        .get('/users/me')
        .set('authorization', `Bearer ${successor.accessToken}`);
      expect(me.status).toBe(200);
      const again = await request(two.b.server)
        .post('/auth/refresh')
        .send({ refreshToken: successor.refreshToken });
      expect(outcome(again)).toBe('200');
      expect(again.body.refreshToken).not.toBe(successor.refreshToken);
      const thrice = await request(two.a.server)
        .post('/auth/refresh')
        .send({ refreshToken: again.body.refreshToken });
      expect(outcome(thrice)).toBe('200');
    },
  );

  it('a family logged out on one instance is not answered from the cache by the other', async () => {
    const login = await request(two.a.server)
      .post('/auth/wechat/login')
      .send({ code: two.wechat.mint({ openid: 'o-two-out' }) });
    const rotated = await request(two.a.server)
      .post('/auth/refresh')
      .send({ refreshToken: login.body.refreshToken });
    expect(outcome(rotated)).toBe('200');
    const out = await request(two.a.server)
      .post('/auth/logout')
      .set('authorization', `Bearer ${rotated.body.accessToken}`)
      .send({ all: true });
    expect(out.status).toBe(204);
    // Within the interval, the rotated token presented to the other instance: the family stays dead.
    const late = await request(two.b.server)
      .post('/auth/refresh')
      .send({ refreshToken: login.body.refreshToken });
    expect(outcome(late)).toBe('401 REFRESH_TOKEN_INVALID');
    const newest = await request(two.b.server)
      .post('/auth/refresh')
      .send({ refreshToken: rotated.body.refreshToken });
    expect(outcome(newest)).toBe('401 REFRESH_TOKEN_INVALID');
  });
});
