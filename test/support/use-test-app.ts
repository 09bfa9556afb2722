import request from 'supertest';
import { FakeWechat } from './fake-wechat';
import { createTestApp, type TestApp, type TestAppOptions } from './test-app';
import { createTestDatabase, type TestDatabase } from './test-database';

/** The apps every fixture's fake WeChat knows unless a spec names its own. */
export const DEFAULT_APPS = { wxapp_one: 'secret-one', wxapp_two: 'secret-two' };

export interface TestAppFixture {
  /** Set once the suite's beforeAll ran (use them inside hooks and tests, not at describe time). */
  readonly t: TestApp;
  readonly wechat: FakeWechat;
  readonly db: TestDatabase;
  /** supertest against the app. */
  http(): ReturnType<typeof request>;
  /** A mini-program login through the fake WeChat; the answer's ids and tokens. */
  login(openid?: string): Promise<{ openid: string; userId: string; access: string; refresh: string }>;
}

let seq = 0;

/**
 * The set-up most e2e suites share, as one call at describe level: a fake WeChat on loopback, a database of the
 * suite's own (SQLite file or MariaDB, per TEST_DB), the app, and their teardown in reverse order — the app's
 * close also scans every log line it wrote for secrets. Register suite-specific hooks after it: they run after
 * the fixture's beforeAll.
 */
export function useTestApp(
  opts: Omit<TestAppOptions, 'databaseUrl' | 'wechatApiBase'> & { apps?: Record<string, string> } = {},
): TestAppFixture {
  const state: { t?: TestApp; wechat?: FakeWechat; db?: TestDatabase } = {};
  const need = <K extends keyof typeof state>(key: K): NonNullable<(typeof state)[K]> => {
    const value = state[key];
    if (!value) throw new Error(`useTestApp: ${key} is only there once the suite's beforeAll ran`);
    return value as NonNullable<(typeof state)[K]>;
  };

  beforeAll(async () => {
    const { apps = DEFAULT_APPS, ...appOpts } = opts;
    state.wechat = await new FakeWechat(apps).start();
    state.db = await createTestDatabase();
    state.t = await createTestApp({
      ...appOpts,
      databaseUrl: state.db.url,
      wechatApiBase: state.wechat.baseUrl,
    });
  });

  afterAll(async () => {
    await state.t?.close();
    await state.db?.drop();
    await state.wechat?.stop();
  });

  const fixture: TestAppFixture = {
    get t() {
      return need('t');
    },
    get wechat() {
      return need('wechat');
    },
    get db() {
      return need('db');
    },
    http: () => request(need('t').server),
    async login(openid = `o-fixture-${++seq}`) {
      const res = await fixture
        .http()
        .post('/auth/wechat/login')
        .send({ code: fixture.wechat.mint({ openid }) });
      if (res.status !== 200) throw new Error(`login of ${openid} answered ${res.status}: ${res.text}`);
      return {
        openid,
        userId: res.body.user.id as string,
        access: res.body.accessToken as string,
        refresh: res.body.refreshToken as string,
      };
    },
  };
  return fixture;
}
