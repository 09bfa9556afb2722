import { JwtService } from '@nestjs/jwt';
/**
 * `npm run bench`: does a hanging WeChat slow down the guarded API?
 * Measures GET /auth/session (guard + JWT verify) with autocannon, first with
 * WeChat idle (baseline), then while a steady stream of logins hangs at WeChat,
 * and prints the ratios. Also compares JWT verify with a KeyObject vs a string
 * secret, and the sign/verify cost of each access-token algorithm (HS256, ES256,
 * RS256, EdDSA) as this service does it. Everything runs on loopback in this process; numbers are relative to
 * the baseline of the same run (the machine is small and noisy).
 */
import { createSecretKey, generateKeyPairSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import autocannon from 'autocannon';
import jwt from 'jsonwebtoken';
import { AppModule } from '../src/app.module';
import { configureApp, fastifyOptions, NEST_APP_OPTIONS } from '../src/app.setup';
import { FakeClock } from '../src/common/clock/fake-clock';
import { Random } from '../src/common/random/random';
import type { AppConfig, JwtKeyConfig } from '../src/config/app-config';
import { asymmetricKey, secretKey } from '../src/config/jwt-keys';
import { loadConfig } from '../src/config/load-config';
import { AccessTokenService } from '../src/token/access-token.service';
import { JwtKeyManager } from '../src/token/keys/jwt-key-manager';
import { FakeWechat } from '../test/support/fake-wechat';

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 5);
const HANGING_LOGINS = Number(process.env.BENCH_HANGING_LOGINS ?? 64);

async function measure(url: string, token: string): Promise<{ rps: number; p50: number; p99: number }> {
  const result = await autocannon({
    url,
    connections: 20,
    duration: DURATION_S,
    headers: { authorization: `Bearer ${token}` },
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`guarded API failed: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

function jwtVerifyCost(): { keyObjectUs: number; stringUs: number } {
  const secret = 'bench-secret-bench-secret-bench-secret-0123456789';
  const key = createSecretKey(Buffer.from(secret));
  const token = jwt.sign({ sub: 'u' }, secret, { algorithm: 'HS256', expiresIn: 600 });
  const time = (k: jwt.Secret): number => {
    const n = 5000;
    const start = performance.now();
    for (let i = 0; i < n; i++) jwt.verify(token, k, { algorithms: ['HS256'] });
    return ((performance.now() - start) * 1000) / n;
  };
  time(key); // warm-up
  return { keyObjectUs: time(key), stringUs: time(secret) };
}

/** Our AccessTokenService with one key of each algorithm: µs per sign and per verify (guard's work minus revocation). */
async function algorithmCosts(): Promise<{ alg: string; signUs: number; verifyUs: number; bytes: number }[]> {
  const keys: JwtKeyConfig[] = [
    secretKey('bench-secret-bench-secret-bench-secret-0123456789', 'secret'),
    asymmetricKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256'),
    asymmetricKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RS256'),
    asymmetricKey(generateKeyPairSync('ed25519').privateKey, 'EdDSA'),
  ];
  const claims = { userId: 'u', appid: 'wxbench', roles: ['user'], sessionId: 's' };
  const results = [];
  for (const key of keys) {
    const config = {
      jwt: { keys: [key], issuer: 'wechat-auth', audience: 'miniprogram', accessTtlSeconds: 900 },
    } as unknown as AppConfig;
    const service = new AccessTokenService(
      new JwtService(),
      new JwtKeyManager(config),
      config,
      new FakeClock(),
      new Random(),
    );
    const n = key.alg === 'RS256' ? 500 : 3000;
    const time = async (fn: () => Promise<unknown>): Promise<number> => {
      for (let i = 0; i < 200; i++) await fn(); // warm-up
      const start = performance.now();
      for (let i = 0; i < n; i++) await fn();
      return ((performance.now() - start) * 1000) / n;
    };
    const token = await service.sign(claims);
    results.push({
      alg: key.alg,
      signUs: await time(() => service.sign(claims)),
      verifyUs: await time(() => service.verify(token)),
      bytes: token.length,
    });
  }
  return results;
}

async function main(): Promise<void> {
  const wechat = await new FakeWechat({ wxbench: 'bench-secret' }).start();
  const dbFile = join(tmpdir(), `wxauth-bench-${process.pid}.sqlite`);
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    PORT: '0',
    DATABASE_URL: `sqlite:${dbFile}`,
    WECHAT_SANDBOX: 'false',
    WECHAT_APPID: 'wxbench',
    WECHAT_SECRET: 'bench-secret',
    WECHAT_API_BASE: wechat.baseUrl,
    WECHAT_TIMEOUT_MS: '2000',
    WECHAT_LOGIN_DEADLINE_MS: '5000',
    WECHAT_BREAKER_THRESHOLD: '1000',
    LOGIN_RATE_LIMIT: '100000',
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    new FastifyAdapter(fastifyOptions(config)),
    {
      ...NEST_APP_OPTIONS,
      logger: false,
    },
  );
  await configureApp(app, config);
  await app.listen(0, '127.0.0.1');
  const base = await app.getUrl();

  try {
    const login = await fetch(`${base}/auth/wechat/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: wechat.mint() }),
    });
    if (login.status !== 200)
      throw new Error(`login failed: ${login.status} (BENCH_LOG_LEVEL=error shows why)`);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const url = `${base}/auth/session`;

    await measure(url, accessToken); // warm-up
    const baseline = await measure(url, accessToken);

    // Keep HANGING_LOGINS logins outstanding against a WeChat that never answers.
    let stop = false;
    let started = 0;
    const hang = async (): Promise<void> => {
      while (!stop) {
        const code = wechat.mint();
        wechat.script(code, { kind: 'hang' }, { kind: 'hang' }, { kind: 'hang' });
        started++;
        await fetch(`${base}/auth/wechat/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code }),
        }).then((r) => r.arrayBuffer());
      }
    };
    const hangers = Array.from({ length: HANGING_LOGINS }, hang);
    await new Promise((r) => setTimeout(r, 300));
    const underHang = await measure(url, accessToken);
    stop = true;
    const upstreamCalls = wechat.calls.length;
    await Promise.all(hangers);

    const jwtCost = jwtVerifyCost();
    const perAlg = await algorithmCosts();
    const row = (name: string, m: { rps: number; p50: number; p99: number }) =>
      `${name.padEnd(34)} ${m.rps.toFixed(0).padStart(8)} req/s   p50 ${String(m.p50).padStart(4)} ms   p99 ${String(m.p99).padStart(4)} ms`;
    const lines = [
      `guarded API: GET /auth/session, 20 connections, ${DURATION_S} s each`,
      row('baseline (WeChat idle)', baseline),
      row(`while ${HANGING_LOGINS} logins hang at WeChat`, underHang),
      `throughput ratio (hang / baseline): ${(underHang.rps / baseline.rps).toFixed(2)}`,
      `p99 latency ratio (hang / baseline): ${(underHang.p99 / Math.max(1, baseline.p99)).toFixed(2)}`,
      `hanging logins started: ${started}, upstream calls made: ${upstreamCalls} (capped at WECHAT_MAX_CONCURRENCY=${config.wechat.maxConcurrency} in flight)`,
      '',
      `JWT HS256 verify: KeyObject ${jwtCost.keyObjectUs.toFixed(1)} µs, string secret ${jwtCost.stringUs.toFixed(1)} µs, ratio ${(jwtCost.stringUs / jwtCost.keyObjectUs).toFixed(1)}x`,
      '',
      `guarded API above signed with the default: ${config.jwt.keys[0].alg} (no JWT_PRIVATE_KEYS/JWT_SECRET set)`,
      'access token per algorithm (AccessTokenService: @nestjs/jwt for HS256/ES256/RS256, node:crypto for EdDSA):',
      ...perAlg.map(
        (r) =>
          `  ${r.alg.padEnd(6)} sign ${r.signUs.toFixed(1).padStart(7)} µs   verify ${r.verifyUs.toFixed(1).padStart(7)} µs   token ${r.bytes} bytes`,
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await app.close();
    await wechat.stop();
    for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) rmSync(f, { force: true });
  }
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
