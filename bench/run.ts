/**
 * `npm run bench`: the service as production runs it (`node dist/main.js`, NODE_ENV=production, on
 * MariaDB + Redis, or SQLite with BENCH_DB=sqlite) against a same-run baseline (plain node:http
 * verifying the same HS256 token), with a fake WeChat in its own process. See docs/benchmark.md.
 * Prints a table, writes bench/results.json and renders it into docs/benchmark.md's generated section
 * (the analysis around it is hand-written); exits non-zero only when something failed (a
 * process did not start, a request that must succeed did not, wrong identity rows), not for a
 * missed target.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { writeBenchDoc } from '../scripts/render-bench-docs';
import { generateEs256Pem } from '../src/config/jwt-keys';
import { createDatastore } from './datastores';
import {
  CONNECTIONS,
  type Load,
  loginRequest,
  measure,
  refreshChains,
  stampede,
  whileLoginsHang,
} from './load';
import { buildService, freePort, startBenchChild, startService } from './processes';
import { type BenchResults, type Row, ms, perSecond, printTable, ratio, verdict } from './report';
import { tokenCosts } from './token-costs';

/** Before the first measurement, each freshly started process gets this much load (not reported). */
const SERVICE_WARMUP = { seconds: Number(process.env.BENCH_SERVICE_WARMUP_SECONDS ?? 5), warmupSeconds: 0 };
const timing = {
  seconds: Number(process.env.BENCH_SECONDS ?? 5),
  warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 2),
};
const PROFILE_DIR = process.env.BENCH_PROFILE === '1' ? join(__dirname, 'profiles') : undefined;
const HANGING_LOGINS = 64;
const STAMPEDE = { rounds: 10, parallel: 50 };
const APPID = 'wxbench0000000001';

const cleanups: (() => Promise<void>)[] = [];
/** Runs every registered cleanup once, newest first; each runs even when an earlier one failed. */
async function cleanUp(): Promise<boolean> {
  let ok = true;
  for (const fn of cleanups.splice(0).reverse()) {
    await fn().catch((e: unknown) => {
      ok = false;
      process.stderr.write(`cleanup failed: ${e instanceof Error ? e.message : String(e)}\n`);
    });
  }
  return ok;
}

let nonce = 0;
/** A fresh login code for `openid` (the fake WeChat mints it when it sees it). */
const codeFor = (openid: string): string => `bench-${openid}-${(nonce++).toString(36)}`;

async function login(
  baseUrl: string,
  openid: string,
): Promise<{ accessToken: string; refreshToken: string }> {
  const res = await fetch(`${baseUrl}/auth/wechat/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: codeFor(openid) }),
  });
  if (res.status !== 200) throw new Error(`login of ${openid} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { accessToken: string; refreshToken: string };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function main(): Promise<boolean> {
  process.stdout.write('token costs (in process)…\n');
  const costs = await tokenCosts();
  process.stdout.write('nest build…\n');
  await buildService();

  const store = await createDatastore(process.env.BENCH_DB);
  cleanups.push(() => store.cleanup());
  const wechatSecret = randomBytes(16).toString('hex');
  const jwtSecret = randomBytes(48).toString('base64');
  const wechat = await startBenchChild('fake WeChat', 'fake-wechat.ts', {
    BENCH_WECHAT_APPID: APPID,
    BENCH_WECHAT_SECRET: wechatSecret,
  });
  cleanups.push(() => wechat.child.stop());
  const wechatUrl = `http://127.0.0.1:${wechat.port}`;
  const baseline = await startBenchChild('baseline', 'baseline-server.ts', { BENCH_JWT_SECRET: jwtSecret });
  cleanups.push(() => baseline.child.stop());
  // The write baseline (MariaDB only): the minimal correct login and refresh, on a database of its own.
  const writeBaseline = store.baselineDatabase
    ? await startBenchChild('write baseline', 'write-baseline-server.ts', {
        BENCH_JWT_SECRET: jwtSecret,
        BENCH_WECHAT_URL: wechatUrl,
        BENCH_WECHAT_APPID: APPID,
        BENCH_WECHAT_SECRET: wechatSecret,
        BENCH_BASELINE_DB: store.baselineDatabase,
      })
    : undefined;
  if (writeBaseline) cleanups.push(() => writeBaseline.child.stop());
  const writeBase = writeBaseline ? `http://127.0.0.1:${writeBaseline.port}` : undefined;

  const port = await freePort();
  const serviceEnv = {
    ...store.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DB_MIGRATE_ON_START: 'true',
    SESSION_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    WECHAT_APPID: APPID,
    WECHAT_SECRET: wechatSecret,
    WECHAT_API_BASE: wechatUrl,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    // Every request comes from 127.0.0.1: the per-IP login/refresh limit would stop the load at 30 a minute.
    LOGIN_RATE_LIMIT: '100000',
    // The hanging logins would otherwise open the breaker, and then fail fast instead of hanging.
    WECHAT_BREAKER_THRESHOLD: '1000',
  };
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const profilesBefore = new Set(PROFILE_DIR ? readdirSync(PROFILE_DIR) : []);
  process.stdout.write(`service (HS256, ${store.kind}${PROFILE_DIR ? ', --cpu-prof' : ''})…\n`);
  const hs = await startService(port, { ...serviceEnv, JWT_SECRET: jwtSecret }, PROFILE_DIR);
  cleanups.push(() => hs.child.stop());
  const base = hs.baseUrl;

  const loads: Record<string, Load> = {};
  const step = async (name: string, run: () => Promise<Load>): Promise<Load> => {
    process.stdout.write(`${name}…\n`);
    return (loads[name] = await run());
  };

  const { accessToken } = await login(base, 'osession');
  // A fresh process runs cold (V8 has not optimised the request path yet): the first scenario measured
  // right after start came out 15-20 % below the same scenario later in the run. Warm both processes first.
  await step('warm-up (discarded)', () =>
    Promise.all([
      measure(`${base}/auth/session`, SERVICE_WARMUP, { headers: bearer(accessToken) }),
      measure(`http://127.0.0.1:${baseline.port}/auth/session`, SERVICE_WARMUP, {
        headers: bearer(accessToken),
      }),
    ]).then(([service]) => service),
  );
  // The machine is small and shared: each ratio is taken against a baseline measured just before.
  const baselineBefore = (scenario: string) =>
    step(`baseline, before ${scenario}`, () =>
      measure(`http://127.0.0.1:${baseline.port}/auth/session`, timing, { headers: bearer(accessToken) }),
    );
  const baselineSession = await baselineBefore('GET /auth/session');
  const session = await step('GET /auth/session', () =>
    measure(`${base}/auth/session`, timing, { headers: bearer(accessToken) }),
  );
  const baselineMe = await baselineBefore('GET /users/me');
  const usersMe = await step('GET /users/me', () =>
    measure(`${base}/users/me`, timing, { headers: bearer(accessToken) }),
  );

  // Each write scenario right after the same scenario on the write baseline (each its own openids).
  const writeBaselineBefore = (scenario: string, run: (url: string) => Promise<Load>) =>
    writeBase ? step(`write baseline, before ${scenario}`, () => run(writeBase)) : Promise.resolve(undefined);
  // The CPU each write costs the process that serves it (service or write baseline), beside its rate.
  const pidOf = (url: string) =>
    url === writeBase ? writeBaseline?.child.process.pid : hs.child.process.pid;
  const newLogins = async (url: string, prefix: string, into: Set<string>): Promise<Load> => {
    let next = 0;
    return measure(url, timing, {
      request: loginRequest(codeFor, () => `${prefix}${next++}`, into),
      pid: pidOf(url),
    });
  };
  const returningLogins = (url: string, pool: string[], into: Set<string>): Promise<Load> => {
    if (pool.length === 0) throw new Error('no login of a new user succeeded');
    let turn = 0;
    return measure(url, timing, {
      request: loginRequest(codeFor, () => pool[turn++ % pool.length], into),
      pid: pidOf(url),
    });
  };
  const chains = async (url: string, prefix: string): Promise<Load> => {
    const openids = Array.from({ length: CONNECTIONS }, (_, i) => `${prefix}${i}`);
    const tokens = await Promise.all(openids.map(async (o) => (await login(url, o)).refreshToken));
    return refreshChains(url, tokens, timing, pidOf(url));
  };

  const baselineNewUsers = new Set<string>();
  const baselineLoginNew = await writeBaselineBefore('login, new users', (url) =>
    newLogins(url, 'obnew', baselineNewUsers),
  );
  const newUsers = new Set<string>();
  const loginNew = await step('login, new users', () => newLogins(base, 'onew', newUsers));
  const baselineLoginReturning = await writeBaselineBefore('login, returning users', (url) =>
    returningLogins(url, [...baselineNewUsers], new Set()),
  );
  const returningUsers = new Set<string>();
  const loginReturning = await step('login, returning users', () =>
    returningLogins(base, [...newUsers], returningUsers),
  );

  const baselineRefresh = await writeBaselineBefore(`refresh, ${CONNECTIONS} chains`, (url) =>
    chains(url, 'obchain'),
  );
  const chainOpenids = Array.from({ length: CONNECTIONS }, (_, i) => `ochain${i}`);
  const refresh = await step(`refresh, ${CONNECTIONS} chains`, () => chains(base, 'ochain'));

  process.stdout.write('stampede…\n');
  const statuses = await stampede(base, () => codeFor('ostampede'), STAMPEDE.rounds, STAMPEDE.parallel);

  const hang = await whileLoginsHang(
    base,
    () => `hang-${(nonce++).toString(36)}`,
    async () => void (await fetch(`${wechatUrl}/bench/release-hangs`, { method: 'POST' })),
    HANGING_LOGINS,
    () =>
      step(`GET /auth/session while ${HANGING_LOGINS} logins hang`, () =>
        measure(`${base}/auth/session`, timing, { headers: bearer(accessToken) }),
      ),
  );

  const rows = await store.identityRows();
  const expected = new Set([...newUsers, ...returningUsers, ...chainOpenids, 'osession', 'ostampede']);
  const missing = [...expected].filter((o) => !rows.openids.has(o));

  await hs.child.stop();
  process.stdout.write('service (ES256)…\n');
  // Also without the /users/me copy, to show what each read costs when it goes to the database.
  const es = await startService(
    port,
    { ...serviceEnv, JWT_PRIVATE_KEYS: generateEs256Pem(), USER_CACHE_TTL_MS: '0' },
    PROFILE_DIR,
  );
  cleanups.push(() => es.child.stop());
  const esToken = (await login(es.baseUrl, 'oes256')).accessToken;
  await step('warm-up, ES256 service (discarded)', () =>
    measure(`${es.baseUrl}/auth/session`, SERVICE_WARMUP, { headers: bearer(esToken) }),
  );
  const baselineEs = await baselineBefore('GET /auth/session (ES256)');
  const esSession = await step('GET /auth/session (ES256)', () =>
    measure(`${es.baseUrl}/auth/session`, timing, { headers: bearer(esToken) }),
  );
  const baselineMeUncached = await baselineBefore('GET /users/me, USER_CACHE_TTL_MS=0');
  const meUncached = await step('GET /users/me, USER_CACHE_TTL_MS=0', () =>
    measure(`${es.baseUrl}/users/me`, timing, { headers: bearer(esToken) }),
  );
  await es.child.stop();
  const profiles = PROFILE_DIR ? readdirSync(PROFILE_DIR).filter((f) => !profilesBefore.has(f)) : [];

  const ok200 = statuses.filter((s) => s === 200).length;
  const stampedeTotal = STAMPEDE.rounds * STAMPEDE.parallel;
  const rowsOk = rows.duplicated.length === 0 && missing.length === 0 && rows.orphanUsers === 0;
  const es256 = costs.find((c) => c.alg === 'ES256')!;
  const table: Row[] = [
    {
      scenario: 'GET /auth/session (HS256) req/s',
      service: perSecond(session),
      baseline: perSecond(baselineSession),
      ratio: ratio(session.rps, baselineSession.rps),
      target: '≥ 0.60',
      result: verdict(session, session.rps / baselineSession.rps >= 0.6, baselineSession),
    },
    {
      scenario: 'GET /auth/session (HS256) p99',
      service: ms(session.p99Ms),
      baseline: ms(baselineSession.p99Ms),
      ratio: ratio(session.p99Ms, baselineSession.p99Ms),
      target: '≤ 2.00',
      result: verdict(session, session.p99Ms <= 2 * baselineSession.p99Ms, baselineSession),
    },
    {
      scenario: 'GET /users/me req/s',
      service: perSecond(usersMe),
      baseline: perSecond(baselineMe),
      ratio: ratio(usersMe.rps, baselineMe.rps),
      target: '≥ 0.35',
      result: verdict(usersMe, usersMe.rps / baselineMe.rps >= 0.35, baselineMe),
    },
    {
      scenario: 'GET /users/me p99',
      service: ms(usersMe.p99Ms),
      baseline: ms(baselineMe.p99Ms),
      ratio: ratio(usersMe.p99Ms, baselineMe.p99Ms),
      target: '',
      result: verdict(usersMe),
    },
    ...writeRows('login, new users', loginNew, baselineLoginNew),
    ...writeRows('login, returning users', loginReturning, baselineLoginReturning),
    ...writeRows(`refresh, ${CONNECTIONS} chains`, refresh, baselineRefresh),
    {
      scenario: `stampede ${STAMPEDE.rounds}×${STAMPEDE.parallel} codes, one openid`,
      service: `${ok200}/${stampedeTotal} × 200`,
      target: `${stampedeTotal} × 200`,
      result: ok200 === stampedeTotal ? 'PASS' : 'FAIL',
    },
    {
      scenario: 'identity rows per openid',
      service: `${expected.size} openids: ${rows.duplicated.length} dup, ${missing.length} missing, ${rows.orphanUsers} orphan users`,
      target: '1 each',
      result: rowsOk ? 'PASS' : 'FAIL',
    },
    ...costs.flatMap((c): Row[] => [
      {
        scenario: `${c.alg} sign`,
        service: `${c.signUs.toFixed(1)} µs`,
        target: c === es256 ? '< 20 µs' : '',
        result: c === es256 ? (c.signUs < 20 ? 'PASS' : 'MISS') : '',
      },
      {
        scenario: `${c.alg} verify (cached: ${c.cachedVerifyUs.toFixed(1)} µs)`,
        service: `${c.verifyUs.toFixed(1)} µs`,
        target: c === es256 ? '< 20 µs' : '',
        result: c === es256 ? (c.verifyUs < 20 ? 'PASS' : 'MISS') : '',
      },
    ]),
    {
      scenario: `GET /auth/session, ${HANGING_LOGINS} logins hanging`,
      service: perSecond(hang.result),
      baseline: `${perSecond(session)} idle`,
      ratio: ratio(hang.result.rps, session.rps),
      target: '',
      result: verdict(hang.result),
    },
    {
      scenario: 'GET /auth/session (ES256) req/s',
      service: perSecond(esSession),
      baseline: perSecond(baselineEs),
      ratio: ratio(esSession.rps, baselineEs.rps),
      target: '',
      result: verdict(esSession, undefined, baselineEs),
    },
    {
      scenario: 'GET /users/me, USER_CACHE_TTL_MS=0 (ES256) req/s',
      service: perSecond(meUncached),
      baseline: perSecond(baselineMeUncached),
      ratio: ratio(meUncached.rps, baselineMeUncached.rps),
      target: '',
      result: verdict(meUncached, undefined, baselineMeUncached),
    },
  ];
  printTable(table);
  const cpu = cpus();
  const results: BenchResults = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpu[0]?.model,
      cores: cpu.length,
      totalMemoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
      node: process.version,
      os: `${type()} ${release()}`,
    },
    setup: {
      datastore: store.kind,
      connections: CONNECTIONS,
      ...timing,
      service: 'node dist/main.js, NODE_ENV=production, LOG_LEVEL=warn',
      fakeWechat: 'child process',
      cpuProfiles: profiles.map((f) => join('bench/profiles', f)),
    },
    table,
    loads,
    stampede: { statuses: Object.fromEntries(count(statuses)) },
    identityRows: {
      expectedOpenids: expected.size,
      duplicated: rows.duplicated,
      missing: missing.slice(0, 20),
      orphanUsers: rows.orphanUsers,
    },
    hangingLogins: { outstanding: HANGING_LOGINS, sent: hang.loginsSent },
    tokenCosts: costs,
  };
  writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  // The figures in the docs come from this file only (a drift test holds them to it), never from prose edits.
  const docChanged = writeBenchDoc(results);
  process.stdout.write(
    `\nwrote bench/results.json${docChanged ? ' and its section of docs/benchmark.md' : ''}${
      profiles.length ? `; CPU profiles: ${profiles.join(', ')}` : ''
    }\n`,
  );
  return table.every((r) => r.result !== 'FAIL');
}

/**
 * A write scenario against the write baseline (≥ 0.60 of it, 0 failed); without one (SQLite), the figure
 * alone. Then the CPU each request cost either process (the ratio is baseline / service, so that it reads
 * like the rate's: 0.25 = four times the baseline's CPU per request).
 */
function writeRows(scenario: string, service: Load, baseline: Load | undefined): Row[] {
  if (!baseline)
    return [{ scenario, service: perSecond(service), target: '0 failed', result: verdict(service) }];
  const rate: Row = {
    scenario,
    service: perSecond(service),
    baseline: perSecond(baseline),
    ratio: ratio(service.rps, baseline.rps),
    target: '≥ 0.60, 0 failed',
    result: verdict(service, service.rps / baseline.rps >= 0.6, baseline),
  };
  if (service.cpuUsPerRequest === undefined || baseline.cpuUsPerRequest === undefined) return [rate];
  const cpu: Row = {
    scenario: `${scenario}, CPU per request`,
    service: `${service.cpuUsPerRequest.toFixed(0)} µs`,
    baseline: `${baseline.cpuUsPerRequest.toFixed(0)} µs`,
    ratio: ratio(baseline.cpuUsPerRequest, service.cpuUsPerRequest),
    target: '',
    result: '',
  };
  return [rate, cpu];
}

function count(values: number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));
void main()
  .then(
    (passed) => passed,
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      return false;
    },
  )
  .then(async (passed) => {
    const cleaned = await cleanUp();
    process.exit(passed && cleaned ? 0 : 1);
  });
