import { AccountService } from '../../src/account/account.service';
import { eventually, PrivateSentinelSet, SENTINEL_MASTER } from './redis-topologies';
import { sharedStateCases, TwoInstances } from './two-instances';

/**
 * Redis behind Sentinel (a master, a replica and 3 sentinels of this suite's own; REDIS_SENTINELS): two
 * instances share state through the master the sentinels name, and a failover — the master killed — is
 * ridden out: meanwhile every answer is a success or 503 with Retry-After (never a 500), afterwards
 * everything works again on the promoted replica without a restart.
 */
jest.setTimeout(120_000);

const PASSWORD = 'topology-sentinel-pa55-4Rt';
const SENTINEL_PASSWORD = 'topology-sentinels-pa55-9Lm';

describe('Redis Sentinel: two instances and a failover (topologies)', () => {
  let set: PrivateSentinelSet;
  let env: TwoInstances;

  beforeAll(async () => {
    set = await PrivateSentinelSet.start(PASSWORD, SENTINEL_PASSWORD);
    env = new TwoInstances({
      REDIS_SENTINELS: set.sentinelList,
      REDIS_SENTINEL_MASTER: SENTINEL_MASTER,
      REDIS_PASSWORD: PASSWORD,
      REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
    });
    await env.start();
  });

  afterAll(async () => {
    await env?.stop();
    await set?.stop();
  });

  sharedStateCases(() => env);

  it('the master killed: 503 with Retry-After or success meanwhile, never a 500; then all works on the promoted replica', async () => {
    const before = await env.session(env.a);
    expect(await set.currentMasterPort()).toBe(set.master.port);

    type Seen = { what: string; status: number; retryAfter?: string };
    const seen: Seen[] = [];
    const record = async (
      what: string,
      req: PromiseLike<{ status: number; headers: Record<string, string> }>,
    ) => {
      const res = await req;
      seen.push({ what, status: res.status, retryAfter: res.headers['retry-after'] });
      return res;
    };
    let stop = false;
    // Requests on both instances all through the failover: a login, a session check, a refresh.
    let refreshToken = before.refreshToken;
    const load = (async () => {
      while (!stop) {
        for (const t of [env.a, env.b]) {
          await record('login', env.login(t));
          await record('session', env.check(t, before.accessToken));
          const r = await record('refresh', env.refresh(t, refreshToken));
          if (r.status === 200)
            refreshToken = (r as unknown as { body: { refreshToken: string } }).body.refreshToken;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    // Whatever fails below, the load stops: a loop left running keeps jest from exiting.
    let promotedMs = 0;
    let recoveredMs: number;
    let lastLogins = '';
    try {
      await new Promise((r) => setTimeout(r, 500));
      const killedAt = Date.now();
      await set.master.kill();
      // down-after-milliseconds 1000, then the sentinels agree and promote the replica.
      await eventually(
        'the sentinels promote the replica',
        async () => (await set.currentMasterPort()) === set.replica.port,
        30_000,
      );
      promotedMs = Date.now() - killedAt;
      // Both instances write again (a login needs the store's login-code ledger). What they answered last
      // goes into the failure message.
      await eventually(
        'logins succeed on both instances again',
        async () => {
          const answers = [await env.login(env.a), await env.login(env.b)];
          lastLogins = answers.map((r) => `${r.status} ${r.body?.code ?? ''}`.trim()).join(' / ');
          return answers.every((r) => r.status === 200);
        },
        30_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message} (last answers A / B: ${lastLogins}; promoted after ${promotedMs} ms)`);
      });
      recoveredMs = Date.now() - killedAt;
    } finally {
      stop = true;
      await load;
    }

    const failures = seen.filter((s) => !(s.status < 500 || (s.status === 503 && Number(s.retryAfter) > 0)));
    expect(failures).toEqual([]);
    expect(seen.filter((s) => s.what !== 'refresh' && s.status !== 200 && s.status !== 503)).toEqual([]);
    expect(seen.length).toBeGreaterThan(10);
    // The failover was real: some answers were 503 (the store was unreachable for a while).
    expect(seen.some((s) => s.status === 503)).toBe(true);
    process.stdout.write(
      `sentinel failover: replica promoted after ${promotedMs} ms, both instances writing again after ${recoveredMs} ms; ` +
        `${seen.length} requests meanwhile: ${JSON.stringify(countBy(seen))}\n`,
    );

    // Afterwards, without a restart: the whole session lifecycle, revocation across instances, the rate limit.
    const s = await env.session(env.a);
    const refreshed = await env.refresh(env.b, s.refreshToken);
    expect(refreshed.status).toBe(200);
    const start = Date.now();
    expect((await env.logout(env.a, refreshed.body.accessToken)).status).toBe(204);
    expect(await env.msUntilRefused(env.b, refreshed.body.accessToken, start)).toBeLessThan(1000);
    const u = await env.session(env.b);
    const t0 = Date.now();
    await env.b.app.get(AccountService).setStatus('topology-test', u.userId, 'disabled');
    expect(await env.msUntilRefused(env.a, u.accessToken, t0)).toBeLessThan(1000);
  });
});

function countBy(seen: Array<{ what: string; status: number }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of seen) out[`${s.what} ${s.status}`] = (out[`${s.what} ${s.status}`] ?? 0) + 1;
  return out;
}
