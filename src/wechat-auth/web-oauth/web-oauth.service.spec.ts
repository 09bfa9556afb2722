import { FakeClock } from '../../common/clock/fake-clock';
import { SecretBox } from '../../common/crypto/secret-box';
import { AppException } from '../../common/errors/app.exception';
import { Random } from '../../common/random/random';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import type { AppConfig } from '../../config/app-config';
import type { AuditService } from '../../audit/audit.service';
import type { SignInService, WechatLogin } from '../sign-in/sign-in.service';
import { LoginTicketService } from '../tickets/login-ticket.service';
import type { WechatApi } from '../wechat-api';
import { STATE_TTL_MS, WebOAuthService } from './web-oauth.service';

const OPENID = 'oAbCdEfGhIjKlMnOpQrStUvWxYz0';
const BROWSER = 'B'.repeat(43);
const OTHER_BROWSER = 'C'.repeat(43);

describe('WebOAuthService', () => {
  let clock: FakeClock;
  let oauth: WebOAuthService;
  let wechatCalls: string[];
  /** Resolves the next sns/oauth2/access_token call when a test wants to hold it. */
  let holdExchange: Promise<void> | undefined;

  beforeEach(() => {
    clock = new FakeClock();
    wechatCalls = [];
    holdExchange = undefined;
    const store = new MemoryKvStore(clock);
    const box = new SecretBox(Buffer.alloc(32, 5));
    const config = {
      publicUrl: 'https://auth.example.com',
      webOAuth: { openBase: 'https://open.weixin.qq.com', returnOrigins: ['https://m.example.com'] },
      wechat: {
        loginDeadlineMs: 8000,
        apps: new Map([
          ['wxoa', { appid: 'wxoa', secret: 's', kind: 'oa' }],
          ['wxmp', { appid: 'wxmp', secret: 's' }],
        ]),
      },
    } as unknown as AppConfig;
    const wechat = {
      call: async (endpoint: { name: string }) => {
        wechatCalls.push(endpoint.name);
        if (endpoint.name === 'sns_oauth2_access_token') {
          await holdExchange;
          return { openid: OPENID, accessToken: 'AT', isSnapshotUser: false };
        }
        return { openid: OPENID, nickname: 'Alice' };
      },
    } as unknown as WechatApi;
    const signIn = {
      signIn: async () =>
        ({
          user: { id: 'u1', nickname: 'Alice', avatarUrl: null },
          appid: 'wxoa',
          isNew: true,
          tokens: {
            accessToken: 'a',
            tokenType: 'Bearer',
            expiresIn: 1,
            refreshToken: 'r',
            refreshExpiresIn: 1,
          },
        }) as unknown as WechatLogin,
    } as unknown as SignInService;
    const audit = { record: async () => undefined } as unknown as AuditService;
    const random = new Random();
    oauth = new WebOAuthService(
      config,
      wechat,
      signIn,
      new LoginTicketService(store, box, random),
      store,
      box,
      random,
      clock,
      audit,
    );
  });

  const codeOf = (p: Promise<unknown>) =>
    p.then(
      (v) => v,
      (e: unknown) => (e instanceof AppException ? e.code : String(e)),
    );
  const start = () =>
    oauth.start(
      { appid: 'wxoa', scope: 'snsapi_userinfo', returnTo: 'https://m.example.com/x' },
      BROWSER,
      'unused',
    );

  it("builds WeChat's authorize URL with the PUBLIC_URL callback", async () => {
    const s = await start();
    expect(s.redirectUri).toBe('https://auth.example.com/auth/wechat/oauth/callback');
    expect(s.location).toBe(
      'https://open.weixin.qq.com/connect/oauth2/authorize?appid=wxoa&redirect_uri=' +
        encodeURIComponent(s.redirectUri) +
        `&response_type=code&scope=snsapi_userinfo&state=${s.state}&connect_redirect=1#wechat_redirect`,
    );
    expect(
      await codeOf(oauth.start({ appid: 'wxmp', returnTo: 'https://m.example.com/' }, BROWSER, '')),
    ).toBe('UNKNOWN_APPID');
  });

  it('a state expires after 10 minutes', async () => {
    const { state } = await start();
    clock.advance(STATE_TTL_MS);
    expect(await codeOf(oauth.callback('code', state, BROWSER))).toBe('STATE_INVALID');
    expect(wechatCalls).toEqual([]);
  });

  it("another browser's callback neither completes nor spends the state", async () => {
    const { state } = await start();
    expect(await codeOf(oauth.callback('code', state, OTHER_BROWSER))).toBe('STATE_INVALID');
    expect(await codeOf(oauth.callback('code', state, undefined))).toBe('STATE_INVALID');
    expect(await oauth.callback('code', state, BROWSER)).toMatch(/^https:\/\/m\.example\.com\/x#ticket=/);
  });

  it('a repeat with another code is not a repeat', async () => {
    const { state } = await start();
    await oauth.callback('code', state, BROWSER);
    expect(await codeOf(oauth.callback('other-code', state, BROWSER))).toBe('STATE_INVALID');
    clock.advance(60_000);
    expect(await codeOf(oauth.callback('code', state, BROWSER))).toBe('STATE_INVALID');
    expect(wechatCalls.filter((n) => n === 'sns_oauth2_access_token')).toHaveLength(1);
  });

  it('a repeat arriving while the first is at WeChat waits for its answer', async () => {
    const { state } = await start();
    let release!: () => void;
    holdExchange = new Promise((resolve) => (release = resolve));
    const first = oauth.callback('code', state, BROWSER);
    await new Promise((resolve) => setImmediate(resolve));
    const second = oauth.callback('code', state, BROWSER);
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(100); // the repeat looks again: still pending
    release();
    const a = await first;
    clock.advance(100);
    expect(await second).toBe(a);
    expect(wechatCalls.filter((n) => n === 'sns_oauth2_access_token')).toHaveLength(1);
  });
});
