import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { freePort } from '../../src/testing/free-port';
import { FakeWechat } from '../support/fake-wechat';
import { createTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../support/test-database';

/**
 * The "done when" of issue 18 §1 with a real Prometheus (Debian's `prometheus` package, on a free port, stopped
 * by pid): two instances scraped through METRICS_PORT with the token, the deploy/ alert rules loaded and
 * healthy, and the login, refresh and WeChat series of both instances moving under load.
 */
jest.setTimeout(90_000);

const ROOT = join(__dirname, '../..');
const TOKEN = 'prometheus-ops-token-0123456789-abcdefghijklmn';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a real Prometheus scraping two instances (ops)', () => {
  let wechat: FakeWechat;
  let db: TestDatabase;
  const apps: TestApp[] = [];
  const metricsPorts: number[] = [];
  let prometheus: ChildProcess | undefined;
  let promUrl = '';
  let dir = '';

  const query = async (
    promql: string,
  ): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data: { result: [] } };
    expect(body.status).toBe('success');
    return body.data.result;
  };
  /** Per instance target, the value of a PromQL expression aggregated `by (instance)`. */
  const byInstance = async (promql: string): Promise<Map<string, number>> =>
    new Map((await query(promql)).map((r) => [r.metric.instance, Number(r.value[1])]));
  const eventually = async (what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> => {
    const until = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
      await sleep(250);
    }
  };
  const targets = () => metricsPorts.map((p) => `127.0.0.1:${p}`);

  beforeAll(async () => {
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    db = await createTestDatabase();
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      metricsPorts.push(port);
      apps.push(
        await createTestApp({
          databaseUrl: db.url,
          wechatApiBase: wechat.baseUrl,
          env: { METRICS_PORT: String(port), METRICS_TOKEN: TOKEN },
        }),
      );
    }
    dir = mkdtempSync(join(tmpdir(), 'wxauth-prometheus-'));
    writeFileSync(join(dir, 'token'), TOKEN, { mode: 0o600 });
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ['${join(ROOT, 'deploy/prometheus/wechat-auth.rules.yml')}']`,
        'scrape_configs:',
        '  - job_name: wechat-auth',
        `    authorization: { credentials_file: '${join(dir, 'token')}' }`,
        `    static_configs: [{ targets: [${targets()
          .map((t) => `'${t}'`)
          .join(', ')}] }]`,
        '',
      ].join('\n'),
    );
    const webPort = await freePort();
    promUrl = `http://127.0.0.1:${webPort}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${webPort}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    await eventually('Prometheus ready', async () => {
      try {
        return (await fetch(`${promUrl}/-/ready`)).status === 200;
      } catch {
        return false;
      }
    });
  });

  afterAll(async () => {
    if (prometheus?.pid !== undefined && prometheus.exitCode === null) {
      const gone = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGTERM');
      await gone;
    }
    for (const app of apps) await app.close();
    await db?.drop();
    await wechat?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes both instances with the token; the rules load and evaluate; the series move under load', async () => {
    await eventually('both targets up', async () => {
      const up = await byInstance('up{job="wechat-auth"}');
      return targets().every((t) => up.get(t) === 1);
    });

    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.length).toBeGreaterThanOrEqual(8);
    await eventually('every rule evaluated without error', async () => {
      const again = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as typeof rules;
      return again.data.groups.flatMap((g) => g.rules).every((r) => r.health === 'ok');
    });

    // Load on both instances: logins (WeChat), refreshes, a guarded read.
    for (const app of apps)
      for (let i = 0; i < 5; i++) {
        const login = await request(app.server)
          .post('/auth/wechat/login')
          .send({ code: wechat.mint() })
          .expect(200);
        await request(app.server)
          .post('/auth/refresh')
          .send({ refreshToken: login.body.refreshToken })
          .expect(200);
        await request(app.server)
          .get('/users/me')
          .set('authorization', `Bearer ${login.body.accessToken}`)
          .expect(200);
      }

    const moving = async (promql: string) =>
      eventually(`${promql} on both instances`, async () => {
        const values = await byInstance(promql);
        return targets().every((t) => (values.get(t) ?? 0) >= 5);
      });
    await moving('sum by (instance) (auth_logins_total{outcome="success"})');
    await moving('sum by (instance) (auth_refresh_total{outcome="rotated"})');
    await moving(
      'sum by (instance) (wechat_upstream_requests_total{endpoint="jscode2session",outcome="ok"})',
    );
    await moving('sum by (instance) (http_server_request_duration_seconds_count{route="/users/me"})');
    if (TEST_DB === 'mariadb') await moving('sum by (instance) (db_pool_wait_seconds_count)');
    // Nothing is firing on a healthy pair (the rules are quiet when all is well).
    const firing = (await query('ALERTS{alertstate="firing"}')).map((r) => r.metric.alertname);
    expect(firing).toEqual([]);
  });
});
