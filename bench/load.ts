import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Client } from 'undici';

export const CONNECTIONS = 50;

/** One measured load: throughput, latency and everything that was not a 2xx. */
export interface Load {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Non-2xx answers plus transport errors and timeouts. */
  failures: number;
  /** CLOCK_MONOTONIC µs (the clock of .cpuprofile timestamps): where this load sits in a service profile. */
  windowUs: [number, number];
  /**
   * CPU time (user + system) the measured process spent per request of the measured run, in µs — when
   * the load was given its pid (Linux). Unlike req/s it hardly depends on what else the machine is doing.
   */
  cpuUsPerRequest?: number;
}

/** CPU time a process has used so far, in ms, from /proc/<pid>/stat (utime + stime; Linux only). */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // Fields 14 and 15 of stat(5), in clock ticks (USER_HZ: 100 on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** The load with its process's CPU per request, when both CPU readings were available. */
function withCpu(load: Load, before: number | undefined, after: number | undefined): Load {
  if (before === undefined || after === undefined || load.requests === 0) return load;
  return { ...load, cpuUsPerRequest: ((after - before) * 1000) / load.requests };
}

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

function percentile(sortedMs: number[], p: number): number {
  return sortedMs.length === 0 ? 0 : sortedMs[Math.min(sortedMs.length - 1, Math.floor(sortedMs.length * p))];
}

export interface Timing {
  seconds: number;
  warmupSeconds: number;
}

type AutocannonRequest = NonNullable<autocannon.Options['requests']>[number];

async function autocannonOnce(
  url: string,
  seconds: number,
  opts: { headers?: Record<string, string>; request?: AutocannonRequest },
): Promise<Load> {
  const start = monotonicUs();
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    headers: opts.headers,
    requests: opts.request ? [opts.request] : undefined,
  });
  return {
    rps: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    failures: r.non2xx + r.errors + r.timeouts,
    windowUs: [start, monotonicUs()],
  };
}

/** autocannon, CONNECTIONS connections: a warm-up, then the measured run (failures of both are counted). */
export async function measure(
  url: string,
  timing: Timing,
  opts: { headers?: Record<string, string>; request?: AutocannonRequest; pid?: number } = {},
): Promise<Load> {
  const warmupFailures =
    timing.warmupSeconds > 0 ? (await autocannonOnce(url, timing.warmupSeconds, opts)).failures : 0;
  const cpuBefore = processCpuMs(opts.pid);
  const load = await autocannonOnce(url, timing.seconds, opts);
  return withCpu({ ...load, failures: load.failures + warmupFailures }, cpuBefore, processCpuMs(opts.pid));
}

/**
 * POST /auth/wechat/login, each request a fresh code for `nextOpenid()`; the openids that got a 200
 * go into `succeeded` (autocannon's per-connection context carries the openid to its answer).
 */
export function loginRequest(
  mintCode: (openid: string) => string,
  nextOpenid: () => string,
  succeeded: Set<string>,
): AutocannonRequest {
  return {
    method: 'POST',
    path: '/auth/wechat/login',
    headers: { 'content-type': 'application/json' },
    setupRequest: (req, context: { openid?: string }) => {
      const openid = nextOpenid();
      context.openid = openid;
      return { ...req, body: JSON.stringify({ code: mintCode(openid) }) };
    },
    onResponse: (status, _body, context: { openid?: string }) => {
      if (status === 200 && context.openid) succeeded.add(context.openid);
    },
  };
}

/**
 * CONNECTIONS refresh chains: each connection owns one refresh token and presents the one each
 * answer returns next (autocannon resets its per-connection context after every request, so it
 * cannot chain: an undici Client per chain instead). A chain stops at its first non-200.
 */
export async function refreshChains(
  baseUrl: string,
  tokens: string[],
  timing: Timing,
  pid?: number,
): Promise<Load> {
  const clients = tokens.map(() => new Client(baseUrl, { pipelining: 1 }));
  const current = [...tokens];
  const run = async (seconds: number): Promise<Load> => {
    const latencies: number[] = [];
    let failures = 0;
    const start = monotonicUs();
    const end = performance.now() + seconds * 1000;
    await Promise.all(
      clients.map(async (client, i) => {
        while (performance.now() < end) {
          const t0 = performance.now();
          const next = await client
            .request({
              method: 'POST',
              path: '/auth/refresh',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ refreshToken: current[i] }),
            })
            .then(async (res) => {
              const body = (await res.body.json()) as { refreshToken?: string };
              return res.statusCode === 200 ? body.refreshToken : undefined;
            })
            .catch(() => undefined);
          latencies.push(performance.now() - t0);
          if (!next) {
            failures++;
            return;
          }
          current[i] = next;
        }
      }),
    );
    const windowUs: [number, number] = [start, monotonicUs()];
    latencies.sort((a, b) => a - b);
    return {
      rps: latencies.length / ((windowUs[1] - windowUs[0]) / 1e6),
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      requests: latencies.length,
      failures,
      windowUs,
    };
  };
  try {
    const warmup = await run(timing.warmupSeconds);
    const cpuBefore = processCpuMs(pid);
    const load = await run(timing.seconds);
    return withCpu({ ...load, failures: load.failures + warmup.failures }, cpuBefore, processCpuMs(pid));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/** `rounds` times, `parallel` logins with fresh codes for one openid at once; the status of every answer. */
export async function stampede(
  baseUrl: string,
  codes: () => string,
  rounds: number,
  parallel: number,
): Promise<number[]> {
  const statuses: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const batch = Array.from({ length: parallel }, codes);
    const answers = await Promise.all(
      batch.map((code) =>
        fetch(`${baseUrl}/auth/wechat/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code }),
        }).then(async (r) => (await r.arrayBuffer(), r.status)),
      ),
    );
    statuses.push(...answers);
  }
  return statuses;
}

/**
 * While `load` runs, keeps `outstanding` logins in flight whose codes WeChat never answers, each
 * re-sent as soon as it is answered (shed, timed out); then has WeChat release them.
 */
export async function whileLoginsHang<T>(
  baseUrl: string,
  hangCode: () => string,
  release: () => Promise<void>,
  outstanding: number,
  load: () => Promise<T>,
): Promise<{ result: T; loginsSent: number }> {
  let stop = false;
  let loginsSent = 0;
  const hang = async (): Promise<void> => {
    while (!stop) {
      loginsSent++;
      await fetch(`${baseUrl}/auth/wechat/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: hangCode() }),
      }).then((r) => r.arrayBuffer());
    }
  };
  const hangers = Array.from({ length: outstanding }, hang);
  await new Promise((r) => setTimeout(r, 300)); // let them reach WeChat
  try {
    return { result: await load(), loginsSent };
  } finally {
    stop = true;
    await release();
    await Promise.all(hangers);
  }
}
