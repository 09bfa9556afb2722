import request from 'supertest';
import { FakeWechat } from './fake-wechat';
import { freePort } from './free-port';
import { createTestApp, type TestApp, type TestAppOptions } from './test-app';
import { createTestDatabase, type TestDatabase } from './test-database';

/** The apps every fixture's fake WeChat knows unless a spec names its own. */
export const DEFAULT_APPS = { wxapp_one: 'secret-one', wxapp_two: 'secret-two' };

/** What a fixture's login answers: the ids and the token pair. */
export interface FixtureLogin {
  openid: string;
  userId: string;
  access: string;
  refresh: string;
}

export interface TestAppFixture {
  /** Set once the suite's beforeAll ran (use them inside hooks and tests, not at describe time). */
  readonly t: TestApp;
  readonly wechat: FakeWechat;
  readonly db: TestDatabase;
  /** supertest against the app. */
  http(): ReturnType<typeof request>;
  /** A mini-program login through the fake WeChat; the answer's ids and tokens. */
  login(openid?: string): Promise<FixtureLogin>;
}

let seq = 0;

/** A mini-program login on `t` with a code of the fake WeChat (`appid`: sent when given); throws unless 200. */
export async function loginOn(
  t: TestApp,
  wechat: FakeWechat,
  openid = `o-fixture-${++seq}`,
  appid?: string,
): Promise<FixtureLogin> {
  const res = await request(t.server)
    .post('/auth/wechat/login')
    .send({ code: wechat.mint({ openid, ...(appid ? { appid } : {}) }), ...(appid ? { appid } : {}) });
  if (res.status !== 200) throw new Error(`login of ${openid} answered ${res.status}: ${res.text}`);
  return {
    openid,
    userId: res.body.user.id as string,
    access: res.body.accessToken as string,
    refresh: res.body.refreshToken as string,
  };
}

/** A fixture's parts, set by its beforeAll; reading one before then is a mistake in the suite. */
export function fixtureState<S extends object>(
  name: string,
): { state: Partial<S>; need<K extends keyof S>(key: K): NonNullable<S[K]> } {
  const state: Partial<S> = {};
  return {
    state,
    need: (key) => {
      const value = state[key];
      if (!value) throw new Error(`${name}: ${String(key)} is only there once the suite's beforeAll ran`);
      return value as NonNullable<(typeof state)[typeof key]>;
    },
  };
}

/**
 * The set-up most e2e suites share, as one call at describe level: a fake WeChat on loopback, a database of the
 * suite's own (SQLite file or MariaDB, per TEST_DB), the app, and their teardown in reverse order — the app's
 * close also scans every log line it wrote for secrets. Register suite-specific hooks after it: they run after
 * the fixture's beforeAll.
 */
export function useTestApp(
  opts: Omit<TestAppOptions, 'databaseUrl' | 'wechatApiBase'> & { apps?: Record<string, string> } = {},
): TestAppFixture {
  const { state, need } = fixtureState<{ t: TestApp; wechat: FakeWechat; db: TestDatabase }>('useTestApp');

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
    login: (openid) => loginOn(need('t'), need('wechat'), openid),
  };
  return fixture;
}

export interface ListeningAppFixture extends Pick<TestAppFixture, 't' | 'db' | 'http'> {
  /** The port the app listens on (127.0.0.1). */
  readonly port: number;
}

/**
 * The app listening on a free port of its own (for real sockets, or an app that calls itself), with a database
 * of the suite's own and no fake WeChat; `env` adds to the test environment. Torn down like `useTestApp()`.
 */
export function useListeningApp(env: Record<string, string> = {}): ListeningAppFixture {
  const { state, need } = fixtureState<{ t: TestApp; db: TestDatabase; port: number }>('useListeningApp');

  beforeAll(async () => {
    state.db = await createTestDatabase();
    state.port = await freePort();
    state.t = await createTestApp({
      databaseUrl: state.db.url,
      listen: true,
      env: { PORT: String(state.port), ...env },
    });
  });

  afterAll(async () => {
    await state.t?.close();
    await state.db?.drop();
  });

  return {
    get t() {
      return need('t');
    },
    get db() {
      return need('db');
    },
    get port() {
      return need('port');
    },
    http: () => request(need('t').server),
  };
}

/**
 * The app on its built-in WeChat sandbox instead of a fake WeChat, as a newcomer runs it (listening: it calls
 * its sandbox routes over HTTP). `apps`: WECHAT_APPS beside the sandbox's own mini program; `env`: the rest.
 */
export function useSandboxApp(opts: { apps: string; env?: Record<string, string> }): ListeningAppFixture {
  return useListeningApp({
    WECHAT_SANDBOX: 'true',
    WECHAT_APPID: '',
    WECHAT_SECRET: '',
    WECHAT_APPS: opts.apps,
    ...opts.env,
  });
}
