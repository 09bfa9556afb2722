import request from 'supertest';
import { DataSource } from 'typeorm';
import type { FakeAnswer } from './support/fake-wechat';
import { findLeaks, tokensIn } from './support/leak-check';
import { useTestApp } from './support/use-test-app';

const APPS = {
  wxapp_one: 'secret-one',
  wxapp_two: 'secret-two',
  wxapp_quota: 'secret-q',
  wxapp_flaky: 'secret-f',
};

/** WeChat misbehaving: retries, the breaker, the minute quota, the replay guard and the concurrency cap, with counted upstream calls. */
describe('upstream resilience and the login-code replay guard (e2e)', () => {
  const fx = useTestApp({
    apps: APPS,
    env: {
      WECHAT_APPS: 'wxapp_two:secret-two,wxapp_quota:secret-q,wxapp_flaky:secret-f',
      WECHAT_TIMEOUT_MS: '300',
      WECHAT_LOGIN_DEADLINE_MS: '2500',
      WECHAT_MAX_RETRIES: '2',
      WECHAT_BREAKER_THRESHOLD: '4',
      WECHAT_BREAKER_COOLDOWN_MS: '60000',
      WECHAT_MAX_CONCURRENCY: '4',
      WECHAT_MAX_QUEUE: '4',
    },
  });
  const bodies: string[] = [];

  const login = async (code: string, appid = 'wxapp_one') => {
    const res = await request(fx.t.server).post('/auth/wechat/login').send({ code, appid });
    bodies.push(res.text);
    return res;
  };
  const scriptedLogin = async (appid: string, ...answers: FakeAnswer[]) => {
    const code = fx.wechat.mint({ appid });
    fx.wechat.script(code, ...answers);
    return { res: await login(code, appid), calls: fx.wechat.callsFor(code) };
  };
  const busy: FakeAnswer = { kind: 'json', body: { errcode: -1, errmsg: 'system error rid: 0a1b2c3d-busy' } };

  describe('retries what is safe to retry, and only that', () => {
    it.each([
      ['HTTP 500', [{ kind: 'json', body: {}, status: 500 }], 2],
      ['HTTP 502 then errcode -1', [{ kind: 'raw', body: 'bad gateway', status: 502 }, busy], 3],
      ['connection reset', [{ kind: 'reset' }], 2],
      ['a hang past the per-call timeout', [{ kind: 'hang' }], 2],
    ] as [string, FakeAnswer[], number][])('%s, then success → 200', async (_name, faults, expectedCalls) => {
      const { res, calls } = await scriptedLogin('wxapp_one', ...faults);
      expect(res.status).toBe(200);
      expect(calls).toBe(expectedCalls);
    });

    it('gives up after two retries with 503 WX_UNAVAILABLE and Retry-After', async () => {
      const { res, calls } = await scriptedLogin('wxapp_two', busy, busy, busy, busy);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('WX_UNAVAILABLE');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(calls).toBe(3);
    });

    it.each([
      [40029, 401, 'WX_CODE_INVALID'],
      [40163, 401, 'WX_CODE_USED'],
      [40226, 403, 'WX_USER_BLOCKED'],
      [40125, 503, 'WX_MISCONFIGURED'],
    ])('never retries errcode %i (→ %i %s)', async (errcode, status, code) => {
      const { res, calls } = await scriptedLogin('wxapp_two', {
        kind: 'json',
        body: { errcode, errmsg: 'x rid: 1234abcd-e' },
      });
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
      expect(calls).toBe(1);
    });

    it('a read timeout followed by 40163 on the retry → 503 WX_RETRY_LOGIN (the first call may have used the code)', async () => {
      const { res, calls } = await scriptedLogin(
        'wxapp_one',
        { kind: 'hang' },
        { kind: 'json', body: { errcode: 40163, errmsg: 'code been used' } },
      );
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('WX_RETRY_LOGIN');
      expect(calls).toBe(2);
    });

    it('a retry with a code whose calls all timed out, answered 40163 → 503 WX_RETRY_LOGIN, never 401', async () => {
      const code = fx.wechat.mint({ appid: 'wxapp_two' });
      fx.wechat.script(
        code,
        { kind: 'hang' },
        { kind: 'hang' },
        { kind: 'hang' },
        { kind: 'json', body: { errcode: 40163, errmsg: 'code been used' } },
      );
      const first = await login(code, 'wxapp_two');
      expect(first.status).toBe(503);
      expect(first.body.code).toBe('WX_UNAVAILABLE');
      const again = await login(code, 'wxapp_two');
      expect(again.status).toBe(503);
      expect(again.body.code).toBe('WX_RETRY_LOGIN');
      expect(fx.wechat.callsFor(code)).toBe(4);
    });

    it('the whole login answers within the deadline while WeChat hangs', async () => {
      const started = Date.now();
      const { res, calls } = await scriptedLogin(
        'wxapp_two',
        { kind: 'hang' },
        { kind: 'hang' },
        { kind: 'hang' },
      );
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('WX_UNAVAILABLE');
      expect(calls).toBe(3);
      // Generous bound: the point is "bounded by the 2.5 s deadline", not a timing benchmark.
      expect(Date.now() - started).toBeLessThan(2500 + 1500);
    });
  });

  it('45011 stops calls for that appid until the next minute; other apps are unaffected', async () => {
    const first = await scriptedLogin('wxapp_quota', {
      kind: 'json',
      body: { errcode: 45011, errmsg: 'api minute-quota reach limit' },
    });
    expect(first.res.status).toBe(429);
    expect(first.res.body.code).toBe('WX_RATE_LIMITED');
    const wait = Number(first.res.headers['retry-after']);
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(60);
    expect(first.calls).toBe(1);

    const before = fx.wechat.calls.length;
    const second = await login(fx.wechat.mint({ appid: 'wxapp_quota' }), 'wxapp_quota');
    expect(second.status).toBe(429);
    expect(second.body.code).toBe('WX_RATE_LIMITED');
    expect(fx.wechat.calls.length).toBe(before);
    expect((await login(fx.wechat.mint({ appid: 'wxapp_two' }), 'wxapp_two')).status).toBe(200);
  });

  it('opens the circuit after consecutive failures: fail fast, no upstream call, other apps unaffected', async () => {
    // 4 failures in a row (one login: first try + 2 retries = 3, plus one more) open the wxapp_flaky breaker.
    await scriptedLogin('wxapp_flaky', busy, busy, busy);
    await scriptedLogin('wxapp_flaky', busy, busy, busy);
    const before = fx.wechat.calls.length;
    const { res, calls } = await scriptedLogin('wxapp_flaky');
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('WX_UNAVAILABLE');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(1);
    expect(calls).toBe(0);
    expect(fx.wechat.calls.length).toBe(before);
    expect((await login(fx.wechat.mint({ appid: 'wxapp_one' }))).status).toBe(200);
  });

  describe('replay guard', () => {
    it('the same code ×20 in parallel → one upstream call, one session, no 5xx', async () => {
      const code = fx.wechat.mint({ appid: 'wxapp_one', openid: 'o-replay' });
      // Slow answer so all 20 arrive while the exchange is in flight.
      fx.wechat.script(code, {
        kind: 'slow',
        ms: 150,
        then: {
          kind: 'raw',
          body: JSON.stringify({ openid: 'o-replay', session_key: 'c2Vzc2lvbi1rZXktcmVwbGF5IQ==' }),
        },
      });
      const results = await Promise.all(Array.from({ length: 20 }, () => login(code)));
      expect(fx.wechat.callsFor(code)).toBe(1);
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s >= 500)).toEqual([]);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(results.filter((r) => r.status === 401).map((r) => r.body.code)).toEqual(
        Array(19).fill('WX_CODE_USED'),
      );
      const userId = results.find((r) => r.status === 200)!.body.user.id;
      const sessions = await fx.t.app
        .get(DataSource)
        .query('SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = ?', [userId]);
      expect(sessions).toHaveLength(1);
    });

    it('a code that already succeeded → 401 WX_CODE_USED without calling WeChat', async () => {
      const code = fx.wechat.mint();
      expect((await login(code)).status).toBe(200);
      const again = await login(code);
      expect(again.status).toBe(401);
      expect(again.body.code).toBe('WX_CODE_USED');
      expect(fx.wechat.callsFor(code)).toBe(1);
    });

    it('a code WeChat called invalid is remembered; one that failed transiently may be tried again', async () => {
      const bad = fx.wechat.mint();
      fx.wechat.script(bad, { kind: 'json', body: { errcode: 40029, errmsg: 'invalid code' } });
      expect((await login(bad)).body.code).toBe('WX_CODE_INVALID');
      expect((await login(bad)).body.code).toBe('WX_CODE_INVALID');
      expect(fx.wechat.callsFor(bad)).toBe(1);

      const flaky = fx.wechat.mint({ appid: 'wxapp_two' });
      fx.wechat.script(flaky, busy, busy, busy);
      expect((await login(flaky, 'wxapp_two')).status).toBe(503);
      expect((await login(flaky, 'wxapp_two')).status).toBe(200);
      expect(fx.wechat.callsFor(flaky)).toBe(4);
    });
  });

  it('caps concurrent WeChat calls and keeps the guarded API answering while WeChat hangs', async () => {
    const ok = await login(fx.wechat.mint());
    const auth = `Bearer ${ok.body.accessToken}`;
    const hanging = Array.from({ length: 12 }, () => {
      const code = fx.wechat.mint({ appid: 'wxapp_two' });
      fx.wechat.script(code, { kind: 'hang' }, { kind: 'hang' }, { kind: 'hang' });
      return code;
    });
    const before = fx.wechat.calls.length;
    let loginsSettled = false;
    const logins = Promise.all(hanging.map((c) => login(c, 'wxapp_two'))).then((r) => {
      loginsSettled = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    // While 4 calls hang and 4 wait, the guarded API still answers at once.
    for (let i = 0; i < 20; i++) {
      const res = await request(fx.t.server).get('/auth/session').set('authorization', auth);
      expect(res.status).toBe(200);
    }
    expect(loginsSettled).toBe(false);
    const inFlightCalls = fx.wechat.calls.length - before;
    expect(inFlightCalls).toBeLessThanOrEqual(4);

    // 12 logins, 4 slots, 4 queue places: every one ends in 503 (hung or shed), none waits past the deadline.
    const results = await logins;
    expect(results.map((r) => `${r.status} ${r.body.code}`)).toEqual(Array(12).fill('503 WX_UNAVAILABLE'));
    expect(hanging.reduce((n, c) => n + fx.wechat.callsFor(c), 0)).toBeLessThanOrEqual(8 * 3);
  });

  it('no log line carries an AppSecret, session_key, token or raw code', () => {
    const leaks = findLeaks(
      fx.t.logs.map((text, i) => ({ where: `log line ${i}`, text })),
      {
        appSecret: Object.values(APPS),
        sessionKey: [...fx.wechat.sessionKeys, 'c2Vzc2lvbi1rZXktcmVwbGF5IQ=='],
        token: tokensIn(bodies),
        code: fx.wechat.mintedCodes,
      },
    );
    expect(fx.t.logs.length).toBeGreaterThan(50);
    expect(leaks).toEqual([]);
    expect(fx.t.logs.some((l) => l.includes('"rid":"0a1b2c3d-busy"'))).toBe(true);
  });
});
