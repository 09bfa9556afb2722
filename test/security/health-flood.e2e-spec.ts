import { DataSource } from 'typeorm';
import { FakeWechat } from '../support/fake-wechat';
import { freePort } from '../support/free-port';
import { createTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const FLOODERS = 50;
const FLOOD_MS = 2500;

interface LogLine {
  level: number;
  msg?: string;
  down?: string[];
  req?: { url?: string };
}

/**
 * A flood of the public, unthrottled `GET /health` once took a pooled connection per call: 88 % of the
 * probes answered 503, real requests got 503 DATABASE_UNAVAILABLE, and every instance sharing the database
 * went not-ready together, with one ERROR line per probe. Readiness now comes from a cached check.
 */
describe('GET /health under a flood (e2e)', () => {
  let wechat: FakeWechat;
  let db: TestDatabase;
  let t: TestApp;
  let base: string;
  let accessToken: string;
  /** The health pings the database saw (`SELECT 1` through the app's DataSource), with their times. */
  const pings: number[] = [];
  let failPings = false;

  beforeAll(async () => {
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    db = await createTestDatabase();
    const port = await freePort();
    t = await createTestApp({
      databaseUrl: db.url,
      wechatApiBase: wechat.baseUrl,
      listen: true,
      env: { PORT: String(port) },
    });
    base = `http://127.0.0.1:${port}`;
    const ds = t.app.get(DataSource);
    const query = ds.query.bind(ds);
    // Counts what reaches the database from any readiness check, whatever class sends it.
    jest.spyOn(ds, 'query').mockImplementation((sql: string, ...rest: unknown[]) => {
      if (/^select 1\b/i.test(sql.trim())) {
        pings.push(Date.now());
        if (failPings) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:3306'));
      }
      return query(sql, ...(rest as [])) as Promise<unknown>;
    });
    const login = await fetch(`${base}/auth/wechat/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: wechat.mint() }),
    });
    accessToken = ((await login.json()) as { accessToken: string }).accessToken;
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await t?.close();
    await db?.drop();
    await wechat?.stop();
  });

  /** FLOODERS loops of GET `path` for FLOOD_MS, and one user's real requests meanwhile; every status seen. */
  async function flood(path: string): Promise<{ probes: number[]; real: number[]; ms: number }> {
    const probes: number[] = [];
    const real: number[] = [];
    const started = Date.now();
    const until = started + FLOOD_MS;
    const prober = async (): Promise<void> => {
      while (Date.now() < until) {
        const res = await fetch(`${base}${path}`);
        await res.arrayBuffer();
        probes.push(res.status);
      }
    };
    const user = async (): Promise<void> => {
      while (Date.now() < until) {
        const res = await fetch(`${base}/sessions`, { headers: { authorization: `Bearer ${accessToken}` } });
        await res.arrayBuffer();
        real.push(res.status);
      }
    };
    await Promise.all([...Array.from({ length: FLOODERS }, prober), user(), user()]);
    return { probes, real, ms: Date.now() - started };
  }

  const logs = (): LogLine[] => t.logs.map((l) => JSON.parse(l) as LogLine);

  it('answers every probe 200 with at most one database ping per second; real requests are unaffected', async () => {
    pings.length = 0;
    const { probes, real, ms } = await flood('/health');
    expect(probes.length).toBeGreaterThan(FLOODERS * 2);
    expect(probes.filter((s) => s !== 200)).toEqual([]);
    expect(real.length).toBeGreaterThan(0);
    expect(real.filter((s) => s !== 200)).toEqual([]);
    // One ping per started second (the first probe pings at once), whatever the number of probes.
    expect(pings.length).toBeGreaterThan(0);
    expect(pings.length).toBeLessThanOrEqual(Math.ceil(ms / 1000) + 1);
    // The check spaces the pings' starts 1 s apart; the query is seen a little after each start, by an amount a
    // loaded machine varies (989 ms seen once in CI), so the gaps get 100 ms of slack: a flood would be ms apart.
    for (let i = 1; i < pings.length; i++) expect(pings[i] - pings[i - 1]).toBeGreaterThanOrEqual(900);
  }, 30_000);

  it('liveness does no I/O at all', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // past the cached check's interval
    pings.length = 0;
    const { probes } = await flood('/health/live');
    expect(probes.filter((s) => s !== 200)).toEqual([]);
    expect(pings).toEqual([]);
  }, 30_000);

  it('with the database down: every probe 503, one warning naming it (not one line per probe), one when back', async () => {
    const before = t.logs.length;
    failPings = true;
    await new Promise((r) => setTimeout(r, 1100));
    pings.length = 0;
    const down = await flood('/health/ready');
    expect(new Set(down.probes)).toEqual(new Set([503]));
    expect(pings.length).toBeLessThanOrEqual(Math.ceil(down.ms / 1000) + 1);

    failPings = false;
    await new Promise((r) => setTimeout(r, 1100));
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);

    const lines = logs().slice(before);
    expect(lines.filter((l) => l.msg?.startsWith('not ready'))).toEqual([
      expect.objectContaining({ level: 40, down: ['database'] }),
    ]);
    expect(lines.filter((l) => l.msg?.startsWith('ready again'))).toHaveLength(1);
    // No access-log line per failed probe: the readiness log above says it once.
    expect(lines.filter((l) => l.req?.url?.startsWith('/health'))).toEqual([]);
  }, 30_000);
});
