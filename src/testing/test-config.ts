import type { AppConfig } from '../config/app-config';
import { ConfigError } from '../config/config-slice';
import { loadConfig } from '../config/load-config';

/** The environment unit tests start from: valid, no sandbox, in-memory SQLite. */
export const UNIT_TEST_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'test',
  DATABASE_URL: 'sqlite::memory:',
  JWT_SECRET: 'unit-test-jwt-secret-0123456789-abcdefghijkl',
  SESSION_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
  WECHAT_APPID: 'wxapp_one',
  WECHAT_SECRET: 'secret-one',
  WECHAT_APPS: 'wxapp_two:secret-two',
  WECHAT_SANDBOX: 'false',
  WECHAT_API_BASE: 'https://wechat.test',
};

/**
 * A real, fully typed AppConfig for unit tests, built by `loadConfig` from the environment above plus
 * `env`: a new configuration field is visible to every test without casts.
 */
export function testConfig(env: Record<string, string> = {}): AppConfig {
  return loadConfig({ ...UNIT_TEST_ENV, ...env });
}

/** The problems `build` is refused for (its ConfigError's list), or none when it builds. */
export function configProblems(build: () => unknown): string[] {
  try {
    build();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}
