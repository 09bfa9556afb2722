import type { Clock } from '../../common/clock/clock';
import type { Random } from '../../common/random/random';
import type { KvStore } from '../../common/store/kv-store';
import {
  SANDBOX_ERRCODE,
  SandboxContext,
  type SandboxWechatOptions,
  type WechatAnswer,
} from './sandbox-context';
import { SandboxApp, type MintedAppCode } from './sandbox-app';
import { SandboxContent } from './sandbox-content';
import { SandboxLogin, type MintedLoginCode } from './sandbox-login';
import { SandboxPhone, type MintedPhoneCode } from './sandbox-phone';
import { SandboxRisk, type RiskChoice } from './sandbox-risk';
import { SandboxSession, type OpenData } from './sandbox-session';
import { SandboxTokens, type AccessTokenAnswer } from './sandbox-tokens';
import { SandboxWebOAuth, type PageAnswer, type SandboxPage } from './sandbox-web-oauth';

// The sandbox's public surface, importable from here as before the split by capability.
export {
  CODE_TTL_MS,
  SANDBOX_ERRCODE,
  type IssuedSecret,
  type SandboxWechatOptions,
} from './sandbox-context';
export type { MintedLoginCode } from './sandbox-login';
export type { MintedPhoneCode } from './sandbox-phone';
export type { RiskChoice } from './sandbox-risk';
export { sandboxVerdict, type SandboxMediaCheck } from './sandbox-content';
export { UnknownSandboxAppError, type MintedAppCode } from './sandbox-app';
export {
  SANDBOX_PERSONAS,
  sandboxOpenid,
  sandboxUnionid,
  type PageAnswer,
  type SandboxPage,
  type SandboxPersona,
} from './sandbox-web-oauth';
export { NoSandboxSessionError, type OpenData } from './sandbox-session';
export {
  ACCESS_TOKEN_LIFETIME_MS,
  ACCESS_TOKEN_RENEW_WINDOW_MS,
  FORCE_REFRESH_MIN_GAP_MS,
  FORCE_REFRESH_PER_DAY,
} from './sandbox-tokens';

export interface SandboxRequest {
  method: string;
  /** The WeChat path, e.g. `/sns/jscode2session` (without the sandbox's mount prefix). */
  path: string;
  query: URLSearchParams | Record<string, string | string[] | undefined>;
  body?: unknown;
}

/** Always HTTP 200, like WeChat; the body is sent as JSON labelled text/plain. */
export interface SandboxResponse {
  status: number;
  body: Record<string, unknown>;
}

type Endpoint = (query: URLSearchParams, body: unknown) => Promise<WechatAnswer>;

/**
 * WeChat's server side, written once: the sandbox mounted at /sandbox/wechat
 * and the tests' FakeWechat both answer through `handle`, so the service is
 * always developed and tested against the same behaviour. Framework-free; all
 * state lives in the KvStore, so instances sharing Redis act as one WeChat.
 *
 * This class only routes; each capability lives beside it (login, tokens,
 * phone, session, content checks). Faithful where WECHAT.md is explicit; where it is silent
 * the choice is noted beside the code. Faults (busy, quota, hangs) are not
 * modelled here: tests inject them in front of it.
 */
export class SandboxWechat {
  private readonly ctx: SandboxContext;
  private readonly login: SandboxLogin;
  private readonly tokens: SandboxTokens;
  private readonly phone: SandboxPhone;
  private readonly risk: SandboxRisk;
  private readonly session: SandboxSession;
  private readonly webOAuth: SandboxWebOAuth;
  private readonly app: SandboxApp;
  private readonly content: SandboxContent;
  private readonly routes: Record<string, { method: 'GET' | 'POST'; endpoint: Endpoint }>;

  constructor(
    apps: ReadonlyMap<string, string>,
    store: KvStore,
    random: Random,
    clock: Clock,
    options: SandboxWechatOptions = {},
  ) {
    this.ctx = new SandboxContext(apps, store, random, clock, options);
    this.login = new SandboxLogin(this.ctx);
    this.tokens = new SandboxTokens(this.ctx);
    this.phone = new SandboxPhone(this.ctx, this.tokens);
    this.risk = new SandboxRisk(this.ctx, this.tokens, this.login);
    this.session = new SandboxSession(this.ctx, this.login, this.tokens);
    this.webOAuth = new SandboxWebOAuth(this.ctx);
    this.app = new SandboxApp(this.ctx);
    this.content = new SandboxContent(this.ctx, this.tokens, this.login, options.onMediaCheck);
    this.routes = {
      '/sns/jscode2session': { method: 'GET', endpoint: (q) => this.login.jscode2session(q) },
      '/cgi-bin/stable_token': { method: 'POST', endpoint: (_q, b) => this.tokens.stableToken(b) },
      '/wxa/business/getuserphonenumber': {
        method: 'POST',
        endpoint: (q, b) => this.phone.phoneNumber(q, b),
      },
      '/wxa/getuserriskrank': { method: 'POST', endpoint: (q, b) => this.risk.riskRank(q, b) },
      '/wxa/checksession': { method: 'GET', endpoint: (q) => this.session.checkSession(q) },
      '/sns/oauth2/access_token': { method: 'GET', endpoint: (q) => this.webOAuth.accessToken(q) },
      '/sns/userinfo': { method: 'GET', endpoint: (q) => this.webOAuth.userInfo(q) },
      '/sns/auth': { method: 'GET', endpoint: (q) => this.webOAuth.auth(q) },
      '/wxa/msg_sec_check': { method: 'POST', endpoint: (q, b) => this.content.msgSecCheck(q, b) },
      '/wxa/media_check_async': { method: 'POST', endpoint: (q, b) => this.content.mediaCheckAsync(q, b) },
    };
  }

  /** One WeChat call. Paths are case-sensitive, as at WeChat. */
  async handle(req: SandboxRequest): Promise<SandboxResponse> {
    const route = Object.hasOwn(this.routes, req.path) ? this.routes[req.path] : undefined;
    if (!route) return { status: 200, body: this.ctx.error(SANDBOX_ERRCODE.INVALID_URL) };
    if (req.method.toUpperCase() !== route.method) {
      const errcode = route.method === 'GET' ? SANDBOX_ERRCODE.REQUIRE_GET : SANDBOX_ERRCODE.REQUIRE_POST;
      return { status: 200, body: this.ctx.error(errcode) };
    }
    return { status: 200, body: await route.endpoint(toSearchParams(req.query), req.body) };
  }

  // ---- the browser side of web OAuth (HTML pages, not WeChat's API) ----

  /** WeChat's authorize (Official Account) or QR (website) page; its form submits to `approveAction`. */
  oauthPage(page: SandboxPage, query: SandboxRequest['query'], approveAction: string): PageAnswer {
    return this.webOAuth.page(page, toSearchParams(query), approveAction);
  }

  /** The page's answer: back to `redirect_uri` with a code (or without, declined). */
  oauthApprove(query: SandboxRequest['query']): Promise<PageAnswer> {
    return this.webOAuth.approve(toSearchParams(query));
  }

  // ---- what the mini program side gets ----

  /**
   * What `wx.login()` gives the mini program. Like WeChat, a new login may
   * rotate the user's session_key: by default every mint does, so stale-key
   * handling is exercised; `keepSessionKey` keeps the current one.
   * `code` lets a caller that needs the code synchronously choose it. `riskRank` (default 0) or
   * `riskErrcode` decide what getuserriskrank answers for this user until their next mint.
   */
  async mintLoginCode(
    input: Parameters<SandboxLogin['mintLoginCode']>[0] & RiskChoice = {},
  ): Promise<MintedLoginCode> {
    const { riskRank, riskErrcode, ...login } = input;
    const minted = await this.login.mintLoginCode(login);
    await this.risk.choose(minted.appid, minted.openid, { riskRank, riskErrcode });
    return minted;
  }

  /** What the WeChat SDK's "Log in with WeChat" gives a mobile app: a code for `/sns/oauth2/access_token`. */
  mintAppCode(input: Parameters<SandboxApp['mintAppCode']>[0]): Promise<MintedAppCode> {
    return this.app.mintAppCode(input);
  }

  /** What the `getPhoneNumber` button gives the mini program (the phone code, not a login code). */
  mintPhoneCode(input: Parameters<SandboxPhone['mintPhoneCode']>[0]): Promise<MintedPhoneCode> {
    return this.phone.mintPhoneCode(input);
  }

  /**
   * Legacy open data for this user, encrypted with their current session_key
   * as WeChat does: user info by default, the phone number when one is given.
   * The watermark overrides make stale or foreign data for tests.
   */
  mintOpenData(input: Parameters<SandboxSession['mintOpenData']>[0]): Promise<OpenData> {
    return this.session.mintOpenData(input);
  }

  /** The session_key WeChat currently holds for this user, as code2Session would return it now. */
  currentSessionKey(appid: string, openid: string): Promise<string | undefined> {
    return this.login.sessionKey(appid, openid);
  }

  /**
   * Installs an interface token as the app's current one, as if stable_token
   * had issued it: for tests that need to know the token (or a short-lived
   * one) in advance. Earlier tokens stay valid until they expire.
   */
  issueAccessToken(appid: string, opts?: { token?: string; expiresIn?: number }): Promise<AccessTokenAnswer> {
    return this.tokens.issueAccessToken(appid, opts);
  }
}

function toSearchParams(query: SandboxRequest['query']): URLSearchParams {
  if (query instanceof URLSearchParams) return query;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    // A repeated parameter: the first one counts (the fetch client never repeats any).
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) params.set(k, first);
  }
  return params;
}
