import { AuthError, CLIENT_ERROR_CODES, errorFromResponse, isAuthError, networkError } from './errors';
import { isTokenPair, TokenStore, type StoredSession, type TokenPair } from './token-store';
import { headerValue, wxLogin, wxRequest, type HttpMethod, type WxLike, type WxRequestSuccess } from './wx';

/** The mini program's global `wx`, when there is one (Node and uni-app/Taro builds pass `options.wx`). */
declare const wx: WxLike | undefined;

export interface AuthClientOptions {
  /** The service, e.g. `https://auth.example.com` (no trailing path needed). */
  baseUrl: string;
  /** Which configured mini program this is, when the service serves several (`WECHAT_APPS`). */
  appid?: string;
  /** `wx` by default; `uni`, `Taro` or anything with the same login/request/storage API works. */
  wx?: WxLike;
  /** Storage key of the token pair. Default `wechat-auth:session`. */
  storageKey?: string;
  /** Clock in ms since the epoch (tests inject one). Default `Date.now`. */
  now?: () => number;
  /**
   * Refresh this long before the access token expires, on the next request (never by timer, so an idle mini
   * program makes no requests). Capped at half the token's lifetime. Default 60 000 ms; 0 turns it off.
   */
  refreshAheadMs?: number;
  /** Timeout of each wx.request and wx.login, ms (wx's own default otherwise, 60 s). */
  timeout?: number;
}

export interface RequestOptions {
  /** A path on the service (`/users/me`), or an absolute URL under `baseUrl`; any other origin is refused. */
  url: string;
  method?: HttpMethod;
  data?: string | Record<string, unknown>;
  header?: Record<string, string>;
}

export interface AuthResponse<T = unknown> {
  statusCode: number;
  data: T;
  header: Record<string, unknown>;
}

/** `user` of the login answer. */
export interface LoginUser {
  id: string;
  nickname: string | null;
  avatarUrl: string | null;
  isNew: boolean;
}

/**
 * WeChat's content check on the last avatar change (server option `WECHAT_CONTENT_CHECK=on`): `pending` — the
 * new avatar waits for WeChat's verdict and `avatarUrl` still shows the previous one; `approved`; `rejected`
 * (dropped); `none` (not checked).
 */
export type AvatarStatus = 'none' | 'pending' | 'approved' | 'rejected';

/** `GET /users/me`, `PUT /users/me`. */
export interface Profile {
  id: string;
  nickname: string | null;
  avatarUrl: string | null;
  avatarStatus: AvatarStatus;
  /** Masked, `138****5678`. */
  phone: string | null;
  phoneCountryCode: string | null;
  createdAt: string;
}

/** What `open-type` buttons and `wx.getUserInfo`/`wx.getWeRunData` hand over. */
export interface OpenDataPayload {
  encryptedData: string;
  iv: string;
  rawData?: string;
  signature?: string;
}

export interface DecryptResult<T = Record<string, unknown>> {
  data: T;
  watermark: { appid: string; timestamp: number };
  phone?: { masked: string; countryCode: string };
}

export interface SessionCheck {
  /** Whether WeChat still held the service's session_key valid when asked. */
  valid: boolean;
  checkedAt: string;
  /** The key was stale and the client logged in again (one wx.login), so it is current now. */
  renewed: boolean;
}

export interface AuthClient {
  /** A request with `Authorization: Bearer …`; logs in first when there is no session. 2xx → the answer, else AuthError. */
  request<T = unknown>(options: RequestOptions): Promise<AuthResponse<T>>;
  /**
   * A new wx.login and login now (shared with any login already running). It replaces the stored session:
   * a refresh in flight lands first, then the login runs, then the session it replaced is logged out, so
   * exactly one session remains (the new one).
   */
  login(): Promise<LoginUser>;
  /** Revokes this session (`all`: every session of the user) and forgets the tokens, even when offline. */
  logout(options?: { all?: boolean }): Promise<void>;
  /** The `getPhoneNumber` button's `e.detail.code` → the bound number, masked. */
  bindPhone(phoneCode: string): Promise<{ phone: string; countryCode: string }>;
  /** Asks whether WeChat still holds the session_key valid; when not, logs in again (unless `renew: false`). */
  checkSession(options?: { renew?: boolean }): Promise<SessionCheck>;
  /**
   * Legacy open data. On `SESSION_STALE` logs in again and retries once: pass a function to fetch the data again
   * after that login (data encrypted before it was encrypted under the key that login may have replaced).
   */
  decrypt<T = Record<string, unknown>>(
    payload: OpenDataPayload | (() => OpenDataPayload | Promise<OpenDataPayload>),
  ): Promise<DecryptResult<T>>;
  /** `PUT /users/me` (wx.request has no PATCH; the service takes the same partial body) with the avatar/nickname fill-in's values. */
  /**
   * `PUT /users/me`. With the server's content checks on, a refused nickname rejects with
   * `ContentRejectedError` (its `label`), and a new avatar comes back `avatarStatus: 'pending'`.
   */
  updateProfile(patch: { nickname?: string | null; avatarUrl?: string | null }): Promise<Profile>;
  /** Whether a session (a refresh token not yet expired) is held; no request. */
  isLoggedIn(): boolean;
}

/** Login errors that mean "this code is spent, get another one": one new wx.login, once. */
const NEW_CODE_ERRORS = ['WX_CODE_USED', 'WX_RETRY_LOGIN', 'WX_CODE_INVALID'];

function isOk(res: WxRequestSuccess): boolean {
  return res.statusCode >= 200 && res.statusCode < 300;
}

/** The access token was refused (expired, revoked, malformed): refresh and replay. Other 401s are not about it. */
function isInvalidToken(res: WxRequestSuccess): boolean {
  if (res.statusCode !== 401) return false;
  const code =
    typeof res.data === 'object' && res.data !== null ? (res.data as { code?: unknown }).code : undefined;
  if (code !== undefined) return code === 'UNAUTHORIZED';
  return /invalid_token/.test(headerValue(res.header, 'www-authenticate') || '');
}

/** Runs `clear` once `flight` settles, whichever way (without leaving an unhandled rejection behind). */
function settle<T>(flight: Promise<T>, clear: () => void): Promise<T> {
  flight.then(clear, clear);
  return flight;
}

class Client implements AuthClient {
  private readonly wx: WxLike;
  private readonly base: string;
  private readonly store: TokenStore;
  private readonly now: () => number;
  private readonly refreshAheadMs: number;
  private readonly timeout?: number;
  private readonly appid?: string;
  /** The one login running, shared by every caller that needs a session meanwhile. */
  private loginFlight: Promise<StoredSession> | null = null;
  /** The one refresh running, shared by every request that got 401 with the token it replaces. */
  private refreshFlight: Promise<StoredSession> | null = null;
  /** The one explicit login running (login(), and the re-login of checkSession/decrypt): see replaceSession. */
  private replaceFlight: Promise<StoredSession> | null = null;
  /** `user` of the last login answer (memory only: storage holds the token pair and nothing else). */
  private lastUser: LoginUser | undefined;

  constructor(options: AuthClientOptions) {
    if (!options || typeof options.baseUrl !== 'string' || options.baseUrl === '')
      throw new TypeError('createAuthClient: baseUrl is required');
    this.wx = options.wx || defaultWx();
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.store = new TokenStore(this.wx, options.storageKey || 'wechat-auth:session');
    this.now = options.now || (() => Date.now());
    this.refreshAheadMs = options.refreshAheadMs === undefined ? 60000 : Math.max(0, options.refreshAheadMs);
    this.timeout = options.timeout;
    this.appid = options.appid;
  }

  async request<T = unknown>(options: RequestOptions): Promise<AuthResponse<T>> {
    const url = this.resolve(options.url);
    let session = await this.session();
    let res = await this.send(url, options, session);
    if (isInvalidToken(res)) {
      session = await this.renew(session);
      // Replayed once with the new token; a second refusal surfaces (never a loop).
      res = await this.send(url, options, session);
    }
    if (!isOk(res)) throw errorFromResponse(res);
    return res as AuthResponse<T>;
  }

  async login(): Promise<LoginUser> {
    if (!this.replaceFlight)
      this.replaceFlight = settle(this.replaceSession(), () => (this.replaceFlight = null));
    await this.replaceFlight;
    return this.lastUser as LoginUser;
  }

  async logout(options: { all?: boolean } = {}): Promise<void> {
    // An explicit login first: it would otherwise store its new session after this logout forgot the old one.
    if (this.replaceFlight) await this.replaceFlight.catch(() => undefined);
    if (this.loginFlight) await this.loginFlight.catch(() => undefined);
    if (this.refreshFlight) await this.refreshFlight.catch(() => undefined);
    const session = this.store.get();
    if (!session) return;
    try {
      await this.revoke(session, options.all === true);
    } finally {
      this.store.clear();
      this.lastUser = undefined;
    }
  }

  async bindPhone(phoneCode: string): Promise<{ phone: string; countryCode: string }> {
    const res = await this.request<{ phone: string; countryCode: string }>({
      url: '/auth/wechat/phone',
      method: 'POST',
      data: { code: phoneCode },
    });
    return res.data;
  }

  async checkSession(options: { renew?: boolean } = {}): Promise<SessionCheck> {
    const res = await this.request<{ valid: boolean; checkedAt: string }>({ url: '/auth/wechat/session' });
    const { valid, checkedAt } = res.data;
    if (valid || options.renew === false) return { valid, checkedAt, renewed: false };
    // WeChat rotated the key (another wx.login ran): a new login hands the service the current one.
    await this.login();
    return { valid, checkedAt, renewed: true };
  }

  async decrypt<T = Record<string, unknown>>(
    payload: OpenDataPayload | (() => OpenDataPayload | Promise<OpenDataPayload>),
  ): Promise<DecryptResult<T>> {
    const get = typeof payload === 'function' ? payload : () => payload;
    const once = async () =>
      (
        await this.request<DecryptResult<T>>({
          url: '/auth/wechat/decrypt',
          method: 'POST',
          data: { ...(await get()) },
        })
      ).data;
    try {
      return await once();
    } catch (e) {
      if (!isAuthError(e) || e.code !== 'SESSION_STALE') throw e;
    }
    // Encrypted under a session_key the service does not hold: log in again (one wx.login), retry once.
    await this.login();
    return once();
  }

  async updateProfile(patch: { nickname?: string | null; avatarUrl?: string | null }): Promise<Profile> {
    const res = await this.request<Profile>({ url: '/users/me', method: 'PUT', data: { ...patch } });
    return res.data;
  }

  isLoggedIn(): boolean {
    const s = this.store.get();
    return s !== null && this.now() < s.refreshExpiresAt;
  }

  // ---------------------------------------------------------------------------------------------------------

  /** A session to send with: the stored one, refreshed ahead of expiry, or a new login. */
  private session(): Promise<StoredSession> {
    if (this.loginFlight) return this.loginFlight;
    if (this.refreshFlight) return this.refreshFlight;
    const current = this.store.get();
    if (!current) return this.sharedLogin();
    if (this.refreshAheadMs > 0 && this.now() >= current.refreshAt) {
      // Ahead of expiry: a failed refresh (offline, 503) still leaves a token that works until it expires.
      return this.renew(current).catch((e) => {
        if (this.now() < current.expiresAt && this.store.get() === current) return current;
        throw e;
      });
    }
    return Promise.resolve(current);
  }

  /**
   * A replacement for `used`, which the service refused (or which is due). Every caller holding the same token
   * shares one refresh; one whose token was already replaced just takes the new one.
   */
  private renew(used: StoredSession): Promise<StoredSession> {
    const current = this.store.get();
    if (current && current.accessToken !== used.accessToken) return Promise.resolve(current);
    if (this.loginFlight) return this.loginFlight;
    if (this.refreshFlight) return this.refreshFlight;
    if (!current || this.now() >= current.refreshExpiresAt) {
      this.store.clear();
      return this.sharedLogin();
    }
    return (this.refreshFlight = settle(this.runRefresh(current), () => (this.refreshFlight = null)));
  }

  private async runRefresh(current: StoredSession): Promise<StoredSession> {
    const res = await this.send(this.resolve('/auth/refresh'), {
      method: 'POST',
      data: { refreshToken: current.refreshToken },
    });
    if (isOk(res) && isTokenPair(res.data)) return this.save(res.data);
    if (res.statusCode === 401) {
      // REFRESH_TOKEN_INVALID / REFRESH_TOKEN_REUSED: the session is over (logged out elsewhere, revoked,
      // expired). One new login; the requests waiting on this refresh are replayed with its tokens.
      this.store.clear();
      return this.sharedLogin();
    }
    // 429 / 503 / anything else: surfaced with its code and Retry-After; the pair is kept.
    throw isOk(res) ? malformed(res) : errorFromResponse(res);
  }

  /**
   * An explicit login replaces the stored session, and exactly one session must remain. A refresh in flight
   * is the stored session rotating: logging in beside it left two sessions — whichever answer landed last
   * was stored, and the other stayed live at the service, unknown to the client, until it expired. So the
   * refresh lands first (its failure does not matter: the login follows anyway), then the login runs (joining
   * one already running; no refresh can start while it does), then the session it replaced — as the refresh
   * left it — is logged out. That logout is best effort: offline, the replaced session stays live at the
   * service until its refresh token expires, and the login still counts. A failed login keeps the stored
   * session and logs nothing out.
   */
  private async replaceSession(): Promise<StoredSession> {
    while (this.refreshFlight) await this.refreshFlight.catch(() => undefined);
    const replaced = this.store.get();
    const session = await this.sharedLogin();
    if (replaced && replaced.refreshToken !== session.refreshToken)
      await this.revoke(replaced, false).catch(() => undefined);
    return session;
  }

  /**
   * `POST /auth/logout` for `session` (`all`: every session of its user). An expired access token gets one
   * refresh so the service can revoke the session; if the refresh token is dead too, the session is already
   * over: nothing to revoke, and no login just to log out.
   */
  private async revoke(session: StoredSession, all: boolean): Promise<void> {
    const url = this.resolve('/auth/logout');
    const call = { method: 'POST' as const, data: all ? { all: true } : {} };
    let res = await this.send(url, call, session);
    if (isInvalidToken(res)) {
      const refreshed = await this.send(this.resolve('/auth/refresh'), {
        method: 'POST',
        data: { refreshToken: session.refreshToken },
      });
      if (!isOk(refreshed) || !isTokenPair(refreshed.data)) return;
      res = await this.send(url, call, this.sessionFrom(refreshed.data));
    }
    if (!isOk(res) && res.statusCode !== 401) throw errorFromResponse(res);
  }

  private sharedLogin(): Promise<StoredSession> {
    if (!this.loginFlight) this.loginFlight = settle(this.runLogin(), () => (this.loginFlight = null));
    return this.loginFlight;
  }

  private async runLogin(): Promise<StoredSession> {
    for (let attempt = 0; ; attempt++) {
      let code: string;
      try {
        code = await wxLogin(this.wx, this.timeout);
      } catch (e) {
        throw networkError(e, CLIENT_ERROR_CODES.WX_LOGIN_FAILED);
      }
      const res = await this.send(this.resolve('/auth/wechat/login'), {
        method: 'POST',
        data: this.appid ? { code, appid: this.appid } : { code },
      });
      if (isOk(res) && isTokenPair(res.data)) {
        this.lastUser = (res.data as TokenPair & { user?: LoginUser }).user;
        return this.save(res.data);
      }
      const error = isOk(res) ? malformed(res) : errorFromResponse(res);
      // A spent or doubtful code: a new wx.login, once. A second failure surfaces.
      if (attempt === 0 && NEW_CODE_ERRORS.indexOf(error.code) >= 0) continue;
      throw error;
    }
  }

  private sessionFrom(pair: TokenPair): StoredSession {
    const now = this.now();
    const lifetime = pair.expiresIn * 1000;
    return {
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      expiresAt: now + lifetime,
      refreshAt: now + lifetime - Math.min(this.refreshAheadMs, lifetime / 2),
      refreshExpiresAt: now + pair.refreshExpiresIn * 1000,
    };
  }

  private save(pair: TokenPair): StoredSession {
    const session = this.sessionFrom(pair);
    this.store.set(session);
    return session;
  }

  /** One wx.request; no HTTP answer → AuthError NETWORK_ERROR. */
  private async send(
    url: string,
    options: {
      method?: HttpMethod;
      data?: string | Record<string, unknown>;
      header?: Record<string, string>;
    },
    session?: StoredSession,
  ): Promise<WxRequestSuccess> {
    const header: Record<string, string> = {};
    const given = options.header || {};
    for (const key of Object.keys(given)) if (key.toLowerCase() !== 'authorization') header[key] = given[key];
    if (options.data !== undefined && !Object.keys(header).some((k) => k.toLowerCase() === 'content-type'))
      header['content-type'] = 'application/json';
    if (session) header.Authorization = `Bearer ${session.accessToken}`;
    try {
      return await wxRequest(this.wx, {
        url,
        method: options.method || 'GET',
        data: options.data,
        header,
        timeout: this.timeout,
      });
    } catch (e) {
      throw networkError(e);
    }
  }

  /** Tokens go to the service only: a path, or an absolute URL under baseUrl. */
  private resolve(url: string): string {
    if (url.charAt(0) === '/' && url.charAt(1) !== '/') return this.base + url;
    if (url === this.base || url.indexOf(this.base + '/') === 0 || url.indexOf(this.base + '?') === 0)
      return url;
    throw new TypeError(`AuthClient.request: ${url} is not on ${this.base}; the token is sent nowhere else`);
  }
}

function malformed(res: WxRequestSuccess): AuthError {
  return new AuthError({
    code: CLIENT_ERROR_CODES.HTTP_ERROR,
    statusCode: res.statusCode,
    message: 'unexpected answer from the auth service',
  });
}

function defaultWx(): WxLike {
  if (typeof wx !== 'undefined' && wx) return wx;
  throw new TypeError(
    'createAuthClient: there is no global `wx`; pass options.wx (uni, Taro, or a stand-in)',
  );
}

export function createAuthClient(options: AuthClientOptions): AuthClient {
  return new Client(options);
}
