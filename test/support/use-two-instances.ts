import { randomBytes } from 'node:crypto';
import { FakeWechat } from './fake-wechat';
import { createTestApp, deleteRedisPrefix, type TestApp } from './test-app';
import { createTestDatabase, type TestDatabase } from './test-database';
import { DEFAULT_APPS, fixtureState, loginOn, type FixtureLogin } from './use-test-app';

export interface TwoInstancesFixture {
  /** Set once the suite's beforeAll ran (use them inside hooks and tests, not at describe time). */
  readonly a: TestApp;
  readonly b: TestApp;
  readonly wechat: FakeWechat;
  readonly db: TestDatabase;
  /** The REDIS_KEY_PREFIX both instances share: the suite's own, removed at the end. */
  readonly prefix: string;
  /** A mini-program login on instance `t` (`appid`: sent when given); the answer's ids and tokens. */
  login(t: TestApp, openid?: string, appid?: string): Promise<FixtureLogin>;
}

/**
 * Two instances behind a load balancer, as the shared-state suites need them: one fake WeChat, one database,
 * one Redis key prefix of the suite's own, and two apps on them — started one after the other, so the second
 * finds the migrations already applied — then their teardown in reverse order. Needs Redis (TEST_REDIS=1).
 */
export function useTwoInstances(
  opts: { apps?: Record<string, string>; env?: Record<string, string> } = {},
): TwoInstancesFixture {
  const prefix = `wxauth:test:${randomBytes(4).toString('hex')}:`;
  const { state, need } = fixtureState<{ a: TestApp; b: TestApp; wechat: FakeWechat; db: TestDatabase }>(
    'useTwoInstances',
  );

  beforeAll(async () => {
    state.wechat = await new FakeWechat(opts.apps ?? DEFAULT_APPS).start();
    state.db = await createTestDatabase();
    const appOpts = {
      databaseUrl: state.db.url,
      wechatApiBase: state.wechat.baseUrl,
      env: { REDIS_KEY_PREFIX: prefix, ...opts.env },
    };
    state.a = await createTestApp(appOpts);
    state.b = await createTestApp(appOpts);
  });

  afterAll(async () => {
    await state.a?.close();
    await state.b?.close();
    await deleteRedisPrefix(prefix);
    await state.db?.drop();
    await state.wechat?.stop();
  });

  return {
    get a() {
      return need('a');
    },
    get b() {
      return need('b');
    },
    get wechat() {
      return need('wechat');
    },
    get db() {
      return need('db');
    },
    prefix,
    login: (t, openid, appid) => loginOn(t, need('wechat'), openid, appid),
  };
}
