import { Histogram, Registry } from 'prom-client';
import { configProblems, testConfig } from '../testing/test-config';
import { Metrics, REFRESH_OUTCOMES, UNKNOWN_APPID, UNMATCHED_ROUTE } from './metrics';
import { bearerCheck, metricsEnabled } from './metrics-http';
import { RouteHistogram } from './route-histogram';

/** `name{labels} value` lines of the exposition, comments left out. */
async function samples(metrics: Metrics): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await metrics.render()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    const value = line.slice(at + 1);
    out.set(line.slice(0, at), value === '+Inf' ? Infinity : Number(value));
  }
  return out;
}

describe('Metrics facade', () => {
  const make = (now = () => 1_000_000) =>
    new Metrics({
      appids: ['wxapp_one', 'wxapp_two'],
      defaultMetrics: false,
      quotaLimits: { phone_lookup: 100, force_refresh: 5 },
      now,
    });

  it('counts logins per configured appid; an appid not in the configuration is "unknown"', async () => {
    const m = make();
    m.login('wxapp_one', 'miniprogram', 'success');
    m.login('wxapp_one', 'miniprogram', 'success');
    m.login('o_attacker_chosen_value', 'miniprogram', 'UNKNOWN_APPID');
    m.login(undefined, 'miniprogram', 'UNKNOWN_APPID');
    const s = await samples(m);
    expect(s.get('auth_logins_total{appid="wxapp_one",kind="miniprogram",outcome="success"}')).toBe(2);
    expect(
      s.get(`auth_logins_total{appid="${UNKNOWN_APPID}",kind="miniprogram",outcome="UNKNOWN_APPID"}`),
    ).toBe(2);
    expect(await m.render()).not.toContain('o_attacker_chosen_value');
  });

  it('every refresh outcome exists from the start (rate() needs the series), and counts', async () => {
    const m = make();
    m.refresh('rotated');
    m.refresh('reused');
    const s = await samples(m);
    for (const outcome of REFRESH_OUTCOMES)
      expect(s.has(`auth_refresh_total{outcome="${outcome}"}`)).toBe(true);
    expect(s.get('auth_refresh_total{outcome="rotated"}')).toBe(1);
    expect(s.get('auth_refresh_total{outcome="reused"}')).toBe(1);
    expect(s.get('auth_refresh_total{outcome="invalid"}')).toBe(0);
  });

  it('bounds errcodes to those an endpoint declares ("other" otherwise, "none" without one)', async () => {
    const m = make();
    m.upstream('jscode2session', 'ok', undefined, false, 0.05);
    m.upstream('jscode2session', 'errcode', 40029, true, 0.05);
    m.upstream('jscode2session', 'errcode', 61234, false, 0.05);
    const s = await samples(m);
    expect(
      s.get('wechat_upstream_requests_total{endpoint="jscode2session",outcome="ok",errcode="none"}'),
    ).toBe(1);
    expect(
      s.get('wechat_upstream_requests_total{endpoint="jscode2session",outcome="errcode",errcode="40029"}'),
    ).toBe(1);
    expect(
      s.get('wechat_upstream_requests_total{endpoint="jscode2session",outcome="errcode",errcode="other"}'),
    ).toBe(1);
    expect(await m.render()).not.toMatch(/\{[^}]*61234[^}]*\}/); // in no label
    expect(s.get('wechat_upstream_duration_seconds_count{endpoint="jscode2session"}')).toBe(3);
  });

  it('the breaker gauge follows open and closed', async () => {
    const m = make();
    m.breaker('wxapp_one', 'jscode2session', true);
    expect((await samples(m)).get('wechat_breaker_open{appid="wxapp_one",endpoint="jscode2session"}')).toBe(
      1,
    );
    m.breaker('wxapp_one', 'jscode2session', false);
    expect((await samples(m)).get('wechat_breaker_open{appid="wxapp_one",endpoint="jscode2session"}')).toBe(
      0,
    );
  });

  it('quota use reads per configured app and kind, capped at the limit, and 0 once its day is over', async () => {
    let now = 1_000_000;
    const m = make(() => now);
    let s = await samples(m);
    expect(s.get('wechat_quota_used{appid="wxapp_two",kind="phone_lookup"}')).toBe(0);
    expect(s.get('wechat_quota_limit{appid="wxapp_two",kind="phone_lookup"}')).toBe(100);
    expect(s.get('wechat_quota_limit{appid="wxapp_one",kind="force_refresh"}')).toBe(5);
    m.quotaUsed('wxapp_one', 'phone_lookup', 42, now + 60_000);
    m.quotaUsed('wxapp_two', 'force_refresh', 9, now + 60_000); // refused takes stay counted: over the cap
    s = await samples(m);
    expect(s.get('wechat_quota_used{appid="wxapp_one",kind="phone_lookup"}')).toBe(42);
    expect(s.get('wechat_quota_used{appid="wxapp_two",kind="force_refresh"}')).toBe(5);
    now += 60_000;
    s = await samples(m);
    expect(s.get('wechat_quota_used{appid="wxapp_one",kind="phone_lookup"}')).toBe(0);
  });

  it('route series: one slot per status class, created on first use; unknown methods are OTHER', async () => {
    const m = make();
    const series = m.routeSeries('/users/me/sessions/:id', 'DELETE');
    expect(await m.render()).not.toContain('route="/users/me/sessions/:id"');
    m.observeRoute(series, 204, 0.003);
    m.observeRoute(series, 404, 0.002);
    m.observeRoute(series, 404, 0.002);
    m.observeRoute(m.routeSeries(UNMATCHED_ROUTE, 'BREW'), 404, 0.001);
    const s = await samples(m);
    const key = (cls: string) =>
      `http_server_request_duration_seconds_count{route="/users/me/sessions/:id",method="DELETE",status_class="${cls}"}`;
    expect(s.get(key('2xx'))).toBe(1);
    expect(s.get(key('4xx'))).toBe(2);
    expect(s.has(key('5xx'))).toBe(false);
    expect(
      s.get(
        `http_server_request_duration_seconds_count{route="unmatched",method="OTHER",status_class="4xx"}`,
      ),
    ).toBe(1);
  });

  it('state read at scrape time: store, replica age (+Inf when never complete), pool', async () => {
    const m = make();
    let up = true;
    let age = 0;
    m.addSources({
      storeUp: () => up,
      replicaAgeSeconds: () => age,
      pool: () => ({ in_use: 3, idle: 7, waiting: 1 }),
    });
    let s = await samples(m);
    expect(s.get('store_up')).toBe(1);
    expect(s.get('revocation_replica_age_seconds')).toBe(0);
    expect(s.get('db_pool_connections{state="in_use"}')).toBe(3);
    expect(s.get('db_pool_connections{state="waiting"}')).toBe(1);
    up = false;
    age = Number.POSITIVE_INFINITY;
    s = await samples(m);
    expect(s.get('store_up')).toBe(0);
    expect(s.get('revocation_replica_age_seconds')).toBe(Number.POSITIVE_INFINITY);
  });

  it('two facades do not share series (one registry per app)', async () => {
    const a = make();
    const b = make();
    a.revocation('logout');
    expect((await samples(a)).get('auth_revocations_total{reason="logout"}')).toBe(1);
    expect((await samples(b)).has('auth_revocations_total{reason="logout"}')).toBe(false);
  });

  it("Node's process metrics only when asked for", async () => {
    const on = new Metrics({ appids: [], defaultMetrics: true });
    expect(await on.render()).toContain('process_cpu_user_seconds_total');
    expect(await make().render()).not.toContain('process_cpu_user_seconds_total');
  });
});

describe('metrics access', () => {
  it('the bearer check wants exactly the token', () => {
    const check = bearerCheck('m'.repeat(40));
    expect(check(`Bearer ${'m'.repeat(40)}`)).toBe(true);
    expect(check(`bearer ${'m'.repeat(40)}`)).toBe(true);
    expect(check(`Bearer ${'m'.repeat(39)}`)).toBe(false);
    expect(check(`Bearer ${'m'.repeat(41)}`)).toBe(false);
    expect(check(`Basic ${'m'.repeat(40)}`)).toBe(false);
    expect(check('Bearer')).toBe(false);
    expect(check(undefined)).toBe(false);
  });

  it('is off unless a token or a port is configured', () => {
    expect(metricsEnabled(testConfig().metrics)).toBe(false);
    expect(metricsEnabled(testConfig({ METRICS_TOKEN: 't'.repeat(32) }).metrics)).toBe(true);
    expect(metricsEnabled(testConfig({ METRICS_PORT: '9464' }).metrics)).toBe(true);
    expect(testConfig({ METRICS_PORT: '9464' }).metrics.host).toBe('127.0.0.1');
  });

  it('refuses a short token, a weak one in production, and METRICS_PORT equal to PORT', () => {
    const problems = (env: Record<string, string>): string[] => configProblems(() => testConfig(env));
    expect(problems({ METRICS_TOKEN: 'short' })).toContain('METRICS_TOKEN must be at least 32 bytes');
    expect(problems({ PORT: '9464', METRICS_PORT: '9464' })).toEqual([
      expect.stringContaining('METRICS_PORT must differ from PORT'),
    ]);
    const weak = 'passwordpasswordpasswordpassword1234';
    const prod = problems({ NODE_ENV: 'production', METRICS_TOKEN: weak });
    expect(prod).toContainEqual(expect.stringMatching(/^METRICS_TOKEN is too weak for production/));
    // Never the value itself.
    expect(prod.join('\n')).not.toContain(weak);
  });
});

describe('RouteHistogram', () => {
  it("renders exactly what prom-client's own Histogram renders for the same observations", async () => {
    const buckets = [0.005, 0.01, 0.1, 1, 10];
    const theirs = new Registry();
    const reference = new Histogram({
      name: 'h_seconds',
      help: 'help',
      labelNames: ['route', 'status_class'],
      buckets,
      registers: [theirs],
    });
    const ours = new Registry();
    const fast = new RouteHistogram('h_seconds', 'help', buckets, ours);
    const a = fast.create({ route: '/a/:id', status_class: '2xx' });
    const b = fast.create({ route: '/b', status_class: '5xx' });
    fast.create({ route: '/never', status_class: '2xx' }); // no observation: not exported, like prom-client
    const values: Array<[typeof a, string, string, number]> = [
      [a, '/a/:id', '2xx', 0],
      [a, '/a/:id', '2xx', 0.005],
      [a, '/a/:id', '2xx', 0.0051],
      [a, '/a/:id', '2xx', 10],
      [a, '/a/:id', '2xx', 11],
      [b, '/b', '5xx', 0.3],
    ];
    for (const [series, route, cls, v] of values) {
      fast.observe(series, v);
      reference.observe({ route, status_class: cls }, v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    fast.reset();
    reference.reset();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
