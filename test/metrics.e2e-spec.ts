import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { AppModule } from '../src/app.module';
import { loadConfig } from '../src/config/load-config';
import { freePort } from '../src/testing/free-port';
import { createTestApp, testEnv, type TestApp } from './support/test-app';
import { createTestDatabase, TEST_DB, type TestDatabase } from './support/test-database';
import { useTestApp } from './support/use-test-app';

const ROOT = join(__dirname, '..');
const RULES = join(ROOT, 'deploy/prometheus/wechat-auth.rules.yml');
const RULE_TESTS = join(ROOT, 'deploy/prometheus/wechat-auth.rules.test.yml');
const DASHBOARD = join(ROOT, 'deploy/grafana/wechat-auth-dashboard.json');
const TOKEN = 'metrics-test-token-0123456789-abcdefghijklmnop';
const HAS_PROMTOOL = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;

/** `name{labels}` → value, from the Prometheus text format. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    const value = line.slice(at + 1);
    out.set(line.slice(0, at), value === '+Inf' ? Infinity : Number(value));
  }
  return out;
}

/** Every metric family the exposition declares (`# TYPE`) and every sample name it carries. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)/.exec(line);
    if (type) {
      names.add(type[1]);
      // A histogram is read through its series (a labelled one has none before its first observation).
      if (type[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(type[1] + s);
    } else if (line && !line.startsWith('#')) names.add(/^[^{ ]+/.exec(line)![0]);
  }
  return names;
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression reads (functions, keywords, labels, strings and ranges left out). */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names: string[] = [];
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = bare.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function or aggregation
    if (PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    if (m.index > 0 && /[0-9.$]/.test(bare[m.index - 1])) continue; // 5m, 1e3, $__rate_interval
    names.push(m[0]);
  }
  return names;
}

/** Every `expr` of the alert rules (a small YAML subset: `expr:` inline or as a folded `>-` block). */
function ruleExpressions(): string[] {
  const lines = readFileSync(RULES, 'utf8').split('\n');
  const exprs: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    if (!m[2].startsWith('>')) {
      exprs.push(m[2]);
      continue;
    }
    const block: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > m[1].length))
      block.push(lines[++i].trim());
    exprs.push(block.join(' '));
  }
  return exprs;
}

function dashboardExpressions(): string[] {
  const exprs: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object')
      for (const [key, value] of Object.entries(node)) {
        if ((key === 'expr' || key === 'definition') && typeof value === 'string')
          // Grafana's label_values(metric, label) reads a metric; its second argument is a label.
          exprs.push(value.replace(/label_values\(([^,()]*(?:\{[^}]*\})?),\s*\w+\s*\)/g, '$1'));
        else walk(value);
      }
  };
  walk(JSON.parse(readFileSync(DASHBOARD, 'utf8')));
  return exprs;
}

describe('Prometheus metrics (e2e)', () => {
  const fx = useTestApp({ env: { METRICS_TOKEN: TOKEN, REFRESH_REUSE_INTERVAL: '10' } });
  const scrape = async (app: TestApp = fx.t) =>
    request(app.server).get('/metrics').set('authorization', `Bearer ${TOKEN}`);

  it('refuses a scrape without the token, or with another one (401 in the error format)', async () => {
    const none = await request(fx.t.server).get('/metrics');
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED', requestId: expect.any(String) });
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(none.text).not.toContain('http_server_request_duration_seconds');
    const wrong = await request(fx.t.server).get('/metrics').set('authorization', `Bearer ${TOKEN}x`);
    expect(wrong.status).toBe(401);
    const basic = await request(fx.t.server)
      .get('/metrics')
      .set('authorization', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`);
    expect(basic.status).toBe(401);
  });

  it('the series move after a login, a refresh, a repeat within the interval, a reuse and a logout', async () => {
    const before = parse((await scrape()).text);
    const login = await request(fx.t.server)
      .post('/auth/wechat/login')
      .send({ code: fx.wechat.mint({ openid: 'o-metrics-flow' }) });
    expect(login.status).toBe(200);
    const { refreshToken, accessToken } = login.body;
    const rotated = await request(fx.t.server).post('/auth/refresh').send({ refreshToken });
    expect(rotated.status).toBe(200);
    expect((await request(fx.t.server).post('/auth/refresh').send({ refreshToken })).status).toBe(200);
    expect((await request(fx.t.server).post('/auth/refresh').send({ refreshToken: 'nonsense' })).status).toBe(
      401,
    );
    const bad = await request(fx.t.server)
      .post('/auth/wechat/login')
      .send({ code: 'not-a-minted-code-1234' });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    await request(fx.t.server)
      .post('/auth/logout')
      .set('authorization', `Bearer ${rotated.body.accessToken ?? accessToken}`)
      .send({});

    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers['cache-control']).toBe('no-store');
    const after = parse(res.text);
    const moved = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);

    expect(moved('auth_logins_total{appid="wxapp_one",kind="miniprogram",outcome="success"}')).toBe(1);
    expect(
      [...after.keys()].some(
        (k) => k.startsWith('auth_logins_total{appid="wxapp_one"') && !k.includes('outcome="success"'),
      ),
    ).toBe(true);
    expect(moved('auth_refresh_total{outcome="rotated"}')).toBe(1);
    expect(moved('auth_refresh_total{outcome="reuse_interval"}')).toBe(1);
    expect(moved('auth_refresh_total{outcome="invalid"}')).toBe(1);
    expect(moved('auth_revocations_total{reason="logout"}')).toBe(1);
    expect(
      moved('wechat_upstream_requests_total{endpoint="jscode2session",outcome="ok",errcode="none"}'),
    ).toBe(1);
    expect(moved('wechat_upstream_duration_seconds_count{endpoint="jscode2session"}')).toBeGreaterThanOrEqual(
      2,
    );
    expect(
      moved(
        'http_server_request_duration_seconds_count{route="/auth/wechat/login",method="POST",status_class="2xx"}',
      ),
    ).toBe(1);
    expect(
      moved(
        'http_server_request_duration_seconds_count{route="/auth/refresh",method="POST",status_class="2xx"}',
      ),
    ).toBe(2);
    expect(after.get('wechat_breaker_open{appid="wxapp_one",endpoint="jscode2session"}')).toBe(0);
    expect(after.get('store_up')).toBe(1);
    expect(after.get('revocation_replica_age_seconds')).toBe(0);
    expect(after.get('wechat_quota_limit{appid="wxapp_two",kind="phone_lookup"}')).toBeGreaterThan(0);
    if (TEST_DB === 'mariadb') {
      // The pool: every request above waited for a connection (briefly), and some are open now.
      expect(moved('db_pool_wait_seconds_count')).toBeGreaterThan(0);
      expect(
        (after.get('db_pool_connections{state="idle"}') ?? 0) +
          (after.get('db_pool_connections{state="in_use"}') ?? 0),
      ).toBeGreaterThan(0);
      expect(after.get('db_pool_connections{state="waiting"}')).toBe(0);
    }
    expect(after.has('process_cpu_user_seconds_total')).toBe(true);
    expect(after.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
  });

  it('phone lookups move the quota and the interface-token fetch is counted (the first one too)', async () => {
    const before = parse((await scrape()).text);
    const login = await request(fx.t.server)
      .post('/auth/wechat/login')
      .send({ code: fx.wechat.mint({ openid: 'o-metrics-phone' }) });
    const bind = await request(fx.t.server)
      .post('/auth/wechat/phone')
      .set('authorization', `Bearer ${login.body.accessToken}`)
      .send({ code: await fx.wechat.mintPhoneCode({ openid: 'o-metrics-phone' }) });
    expect(bind.status).toBe(200);
    const after = parse((await scrape()).text);
    expect(after.get('wechat_quota_used{appid="wxapp_one",kind="phone_lookup"}')).toBe(
      (before.get('wechat_quota_used{appid="wxapp_one",kind="phone_lookup"}') ?? 0) + 1,
    );
    expect(after.get('wechat_interface_token_refreshes_total{appid="wxapp_one",reason="expired"}')).toBe(1);
    expect(
      after.get('wechat_upstream_requests_total{endpoint="getuserphonenumber",outcome="ok",errcode="none"}'),
    ).toBe(1);
  });

  it('labels carry route templates and bounded values: never an openid, a user id, a raw URL or an appid asked for', async () => {
    const openids = ['o-leak-check-1', 'o-leak-check-2'];
    const userIds: string[] = [];
    for (const openid of openids) {
      const res = await request(fx.t.server)
        .post('/auth/wechat/login')
        .send({ code: fx.wechat.mint({ openid, unionid: `u-${openid}` }) });
      expect(res.status).toBe(200);
      userIds.push(res.body.user.id);
      // A route with an id in its path: the label is the template.
      await request(fx.t.server)
        .get(`/sessions/${res.body.user.id}`)
        .set('authorization', `Bearer ${res.body.accessToken}`);
    }
    await request(fx.t.server).get('/no/such/path-d41d8cd98f00b204');
    await request(fx.t.server)
      .post('/auth/wechat/login')
      .send({ appid: 'wx_attacker_chosen', code: 'abc-123456' });
    const text = (await scrape()).text;
    for (const secret of [...openids, ...openids.map((o) => `u-${o}`), ...userIds, TOKEN])
      expect(text).not.toContain(secret);
    expect(text).not.toContain('d41d8cd98f00b204');
    // Nor is the token in any log line (the access log shows the scrapes, never their Authorization).
    expect(fx.t.logs.some((l) => l.includes('"url":"/metrics"'))).toBe(true);
    expect(fx.t.logs.join('\n')).not.toContain(TOKEN);
    expect(text).not.toContain('wx_attacker_chosen');
    expect(text).toContain('route="/sessions/:id"');
    expect(text).toContain('route="unmatched",method="GET",status_class="4xx"');
    expect(text).toContain('auth_logins_total{appid="unknown",kind="miniprogram",outcome="UNKNOWN_APPID"}');
  });

  it('methods beyond the common seven share one OTHER series; no series is ever exported twice', async () => {
    const methods = ['propfind', 'mkcol', 'lock', 'unlock', 'copy', 'move', 'search', 'report', 'purge'];
    const key =
      'http_server_request_duration_seconds_count{route="unmatched",method="OTHER",status_class="4xx"}';
    const before = parse((await scrape()).text).get(key) ?? 0;
    const agent = request(fx.t.server) as unknown as Record<
      string,
      (path: string) => Promise<{ status: number }>
    >;
    for (let round = 0; round < 3; round++)
      for (const method of methods) expect((await agent[method]('/no/such/path')).status).toBe(404);
    const text = (await scrape()).text;
    expect(parse(text).get(key)).toBe(before + 3 * methods.length);
    const samples = text.split('\n').filter((l) => l && !l.startsWith('#'));
    const keys = samples.map((l) => l.slice(0, l.lastIndexOf(' ')));
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  it('is not in the OpenAPI document', async () => {
    const doc = await request(fx.t.server).get('/docs-json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).not.toContain('/metrics');
  });

  // `npm test` needs nothing installed: promtool runs where it is on PATH (.ci/run installs Debian's prometheus
  // package); the schema check below runs everywhere.
  (HAS_PROMTOOL ? it : it.skip)('the alert rules pass promtool check and their promtool unit tests', () => {
    const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8', timeout: 30_000 });
    expect(check.error).toBeUndefined();
    expect(`${check.stdout}${check.stderr}`).toMatch(/SUCCESS: \d+ rules found/);
    expect(check.status).toBe(0);
    // Each alert fires on the series it is meant for (labels and annotations included) and not beside it.
    const unit = spawnSync('promtool', ['test', 'rules', RULE_TESTS], { encoding: 'utf8', timeout: 60_000 });
    expect(`${unit.stdout}${unit.stderr}`).toContain('SUCCESS');
    expect(unit.status).toBe(0);
  });

  it('every alert rule has the shape Prometheus loads, a severity and a text, and is explained in operations.md', () => {
    const text = readFileSync(RULES, 'utf8');
    expect(text).toMatch(/^groups:\n {2}- name: [\w-]+\n {4}rules:\n/m);
    const rules = text.split(/\n {6}- alert: /).slice(1);
    const names = rules.map((r) => r.split('\n', 1)[0]);
    expect(names.length).toBe(ruleExpressions().length);
    expect(new Set(names).size).toBe(names.length);
    const operations = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
    for (const [i, rule] of rules.entries()) {
      expect(names[i]).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(rule).toMatch(/\n {8}expr: \S/);
      expect(rule).toMatch(/\n {8}for: \d+[smh]\n/);
      expect(rule).toMatch(/\n {8}labels:\n {10}severity: (critical|warning)\n/);
      expect(rule).toMatch(/\n {8}annotations:\n {10}summary: \S[\s\S]*\n {10}description: \S/);
      expect(operations).toContain(`| \`${names[i]}\` (`);
    }
  });

  it('the dashboard has the shape Grafana imports: unique panel ids, a grid position each, queries on the chosen data source', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      uid: string;
      title: string;
      schemaVersion: number;
      templating: { list: Array<{ name: string; type: string }> };
      panels: Array<{
        id: number;
        type: string;
        title: string;
        gridPos: { h: number; w: number; x: number; y: number };
        datasource?: { uid: string };
        targets?: Array<{ refId: string; expr: string; datasource: { uid: string } }>;
      }>;
    };
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list.map((v) => [v.name, v.type])).toContainEqual([
      'datasource',
      'datasource',
    ]);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.title).toBeTruthy();
      const { h, w, x } = panel.gridPos;
      expect(h > 0 && w > 0 && x >= 0 && x + w <= 24).toBe(true);
      if (panel.type === 'row') continue;
      expect(panel.datasource?.uid).toBe('${datasource}');
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource.uid).toBe('${datasource}');
        expect(target.expr.trim()).not.toBe('');
      }
    }
  });

  it('the alert rules and the dashboard name only metrics the service exposes', async () => {
    const exposed = exposedNames((await scrape()).text);
    const rules = ruleExpressions();
    const dashboard = dashboardExpressions();
    expect(rules.length).toBeGreaterThanOrEqual(8);
    expect(dashboard.length).toBeGreaterThanOrEqual(15);
    const named = new Set([...rules, ...dashboard].flatMap(metricNamesIn));
    // The extraction must find the names (an empty set would pass vacuously).
    for (const name of [
      'wechat_breaker_open',
      'store_up',
      'db_pool_wait_seconds_bucket',
      'wechat_quota_limit',
    ])
      expect(named).toContain(name);
    expect([...named].filter((n) => !exposed.has(n))).toEqual([]);
  });
});

describe('Prometheus metrics on their own port (e2e)', () => {
  let db: TestDatabase;
  beforeAll(async () => (db = await createTestDatabase()));
  afterAll(async () => db?.drop());

  it('METRICS_PORT alone: served there on loopback, not on the API port', async () => {
    const port = await freePort();
    const t = await createTestApp({ databaseUrl: db.url, env: { METRICS_PORT: String(port) } });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('http_server_request_duration_seconds');
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
      expect((await request(t.server).get('/metrics')).status).toBe(404);
      expect((await request(t.server).get('/metrics').set('authorization', `Bearer ${TOKEN}`)).status).toBe(
        404,
      );
    } finally {
      await t.close();
    }
    // Closed with the app.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('METRICS_PORT and METRICS_TOKEN: the port requires the token', async () => {
    const port = await freePort();
    const t = await createTestApp({
      databaseUrl: db.url,
      env: { METRICS_PORT: String(port), METRICS_TOKEN: TOKEN },
    });
    try {
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
      const ok = await fetch(`http://127.0.0.1:${port}/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('auth_refresh_total');
      expect((await request(t.server).get('/metrics').set('authorization', `Bearer ${TOKEN}`)).status).toBe(
        404,
      );
    } finally {
      await t.close();
    }
  });

  it('the operator CLI (the same modules, no HTTP server) leaves METRICS_PORT alone', async () => {
    const port = await freePort();
    const config = loadConfig(testEnv({ databaseUrl: db.url, env: { METRICS_PORT: String(port) } }));
    const cli = await NestFactory.createApplicationContext(AppModule.forRoot(config, { jobs: false }), {
      logger: false,
    });
    try {
      // A running service holds the port: the CLI run beside it must not try to take it.
      const probe = createServer();
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((r) => probe.close(r));
    } finally {
      await cli.close();
    }
  });

  it('neither set: no /metrics anywhere (404 like any unknown route)', async () => {
    const t = await createTestApp({ databaseUrl: db.url });
    try {
      const res = await request(t.server).get('/metrics').set('authorization', `Bearer ${TOKEN}`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('NOT_FOUND');
    } finally {
      await t.close();
    }
  });
});
