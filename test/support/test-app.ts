import { randomBytes } from 'node:crypto';
import type { ModuleMetadata } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { AppModule } from '../../src/app.module';
import { configureApp, fastifyOptions, NEST_APP_OPTIONS } from '../../src/app.setup';
import type { AppConfig } from '../../src/config/app-config';
import { loadConfig } from '../../src/config/load-config';
import { assertLogsClean } from './leak-check';

export const TEST_REDIS = process.env.TEST_REDIS === '1';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789-abcdefghijklmnop';
export const TEST_ENC_KEY = Buffer.alloc(32, 7).toString('base64');

export interface TestApp {
  app: NestFastifyApplication;
  /** Every log line the app wrote (JSON), for leak checks. */
  logs: string[];
  config: AppConfig;
  server: ReturnType<NestFastifyApplication['getHttpServer']>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  databaseUrl: string;
  wechatApiBase?: string;
  env?: Record<string, string>;
  /** Swap providers (clock, fetch…) before the app starts. */
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
  /** Listen on a real port (needed when the app calls itself, e.g. the sandbox). */
  listen?: boolean;
  extraImports?: ModuleMetadata['imports'];
}

/** The environment every e2e app starts from; tests add to it. */
export function testEnv(opts: TestAppOptions): Record<string, string> {
  return {
    NODE_ENV: 'test',
    // Everything is logged (into TestApp.logs, not stdout) so leak checks see every line.
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'debug',
    DATABASE_URL: opts.databaseUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    SESSION_KEY_ENCRYPTION_KEY: TEST_ENC_KEY,
    WECHAT_APPID: 'wxapp_one',
    WECHAT_SECRET: 'secret-one',
    WECHAT_APPS: 'wxapp_two:secret-two',
    WECHAT_SANDBOX: 'false',
    LOGIN_RATE_LIMIT: '100000',
    ...(opts.wechatApiBase ? { WECHAT_API_BASE: opts.wechatApiBase } : {}),
    ...(TEST_REDIS ? { REDIS_URL, REDIS_KEY_PREFIX: `wxauth:test:${randomBytes(4).toString('hex')}:` } : {}),
    ...opts.env,
  };
}

export async function createTestApp(opts: TestAppOptions): Promise<TestApp> {
  const config = loadConfig(testEnv(opts));
  const logs: string[] = [];
  const logDestination = { write: (line: string) => void logs.push(line) };
  let builder = Test.createTestingModule({
    imports: [AppModule.forRoot(config, { logDestination }), ...(opts.extraImports ?? [])],
  });
  if (opts.override) builder = opts.override(builder);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(
    new FastifyAdapter(fastifyOptions(config)),
    { ...NEST_APP_OPTIONS, bufferLogs: true },
  );
  await configureApp(app, config);
  if (opts.listen) await app.listen(config.port, '127.0.0.1');
  else await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    logs,
    config,
    server: app.getHttpServer(),
    close: async () => {
      await app.close();
      // Every suite's logs, not only the suites that look: no AppSecret, JWT secret, session_key or raw code.
      assertLogsClean(logs, [...[...config.wechat.apps.values()].map((a) => a.secret), TEST_JWT_SECRET]);
      if (config.redis.url) await deleteRedisPrefix(config.redis.keyPrefix, config.redis.url);
    },
  };
}

/** Tests own their Redis key prefix and remove it afterwards (from the app's own Redis when it has one). */
export async function deleteRedisPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}
