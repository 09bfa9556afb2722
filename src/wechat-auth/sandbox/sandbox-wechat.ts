import { createCipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../common/clock/clock';
import type { Random } from '../../common/random/random';
import type { KvStore } from '../../common/store/kv-store';
import { daysAt, Quota } from '../../common/store/quota';
import { StoreKeys } from '../../common/store/store-keys';

/**
 * WeChat's errcodes as WeChat sends them. This file is WeChat's side of the
 * wire, so it keeps its own list instead of importing the service's mapping:
 * a typo on one side must not be mirrored on the other.
 */
export const SANDBOX_ERRCODE = {
  INVALID_CREDENTIAL: 40001,
  INVALID_GRANT_TYPE: 40002,
  INVALID_APPID: 40013,
  INVALID_CODE: 40029,
  INVALID_URL: 40066,
  INVALID_SECRET: 40125,
  CODE_USED: 40163,
  ACCESS_TOKEN_MISSING: 41001,
  CODE_MISSING: 41008,
  OPENID_MISSING: 41009,
  ACCESS_TOKEN_EXPIRED: 42001,
  REQUIRE_GET: 43001,
  REQUIRE_POST: 43002,
  EMPTY_POST_DATA: 44002,
  DAILY_QUOTA: 45009,
  DATA_FORMAT_ERROR: 47001,
  INVALID_SIGNATURE: 87009,
} as const;

const ERRMSG: Record<number, string> = {
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40013: 'invalid appid',
  40029: 'invalid code',
  40066: 'invalid url',
  40125: 'invalid appsecret',
  40163: 'code been used',
  41001: 'access_token missing',
  41008: 'missing code',
  41009: 'missing openid',
  42001: 'access_token expired',
  43001: 'require GET method',
  43002: 'require POST method',
  44002: 'empty post data',
  45009: 'reach max api daily quota limit',
  47001: 'data format error',
  87009: 'invalid signature',
};

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

/** wx.login codes and phone codes: 5 minutes, single use. */
export const CODE_TTL_MS = 5 * MINUTE;
/** WeChat does not publish a session_key lifetime; long enough that a dev session outlives a working day or a test run. */
const SESSION_KEY_TTL_MS = 30 * DAY;
export const ACCESS_TOKEN_LIFETIME_MS = 7200 * SECOND;
/** Normal-mode stable_token renews this long before expiry; old and new overlap for it. */
export const ACCESS_TOKEN_RENEW_WINDOW_MS = 5 * MINUTE;
/** Expired tokens are remembered this much longer, so they answer 42001 (expired) rather than 40001 (unknown). */
const EXPIRED_TOKEN_MEMORY_MS = DAY;
export const FORCE_REFRESH_MIN_GAP_MS = 30 * SECOND;
export const FORCE_REFRESH_PER_DAY = 20;
/** WeChat's quota day is Beijing's (UTC+8). */
const QUOTA_DAY_OFFSET_MS = 8 * 60 * MINUTE;

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

export interface MintedLoginCode {
  code: string;
  appid: string;
  openid: string;
  expiresIn: number;
}

export interface MintedPhoneCode {
  code: string;
  expiresIn: number;
}

/** WeChat's legacy open data, as the mini program gets it from wx.getUserInfo / the old getPhoneNumber button. */
export interface OpenData {
  encryptedData: string;
  iv: string;
  rawData: string;
  signature: string;
}

/** Every secret (and phone number: personal data) the sandbox hands out, so tests can prove none reaches a log. */
export interface IssuedSecret {
  kind: 'loginCode' | 'phoneCode' | 'sessionKey' | 'accessToken' | 'phoneNumber';
  value: string;
}

export interface SandboxWechatOptions {
  /** The app minted for when none is named; default: the first of `apps`. */
  defaultAppid?: string;
  onIssued?: (secret: IssuedSecret) => void;
}

/** Minting open data needs the session_key the user got at login; there is none for this (appid, openid). */
export class NoSandboxSessionError extends Error {
  constructor() {
    super('no session_key for this user and app: mint a login code and log in first');
  }
}

interface LoginCodeRecord {
  appid: string;
  openid: string;
}

interface PhoneCodeRecord {
  appid: string;
  openid: string;
  purePhoneNumber: string;
  countryCode: string;
  /** When the user tapped the button (seconds); WeChat's watermark carries this, not the exchange time. */
  timestamp: number;
}

interface UserRecord {
  sessionKey: string;
  unionid?: string;
}

interface TokenRecord {
  appid: string;
  expiresAt: number;
  /** Force-refresh generation of the app when issued; a later force refresh invalidates every earlier token. */
  epoch: number;
}

interface CurrentToken {
  token: string;
  expiresAt: number;
  epoch: number;
}

type Endpoint = (query: URLSearchParams, body: unknown) => Promise<Record<string, unknown>>;

/**
 * WeChat's server side, written once: the sandbox mounted at /sandbox/wechat
 * and the tests' FakeWechat both answer through `handle`, so the service is
 * always developed and tested against the same behaviour. Framework-free; all
 * state lives in the KvStore, so instances sharing Redis act as one WeChat.
 *
 * Faithful where WECHAT.md is explicit; where it is silent the choice is noted
 * beside the code. Faults (busy, quota, hangs) are not modelled here: tests
 * inject them in front of it.
 */
export class SandboxWechat {
  private readonly defaultAppid: string;
  /** WeChat's own limit on force_refresh: 20 a day per app. */
  private readonly forceRefreshes: Quota;
  private readonly routes: Record<string, { method: 'GET' | 'POST'; endpoint: Endpoint }> = {
    '/sns/jscode2session': { method: 'GET', endpoint: (q) => this.jscode2session(q) },
    '/cgi-bin/stable_token': { method: 'POST', endpoint: (_q, b) => this.stableToken(b) },
    '/wxa/business/getuserphonenumber': { method: 'POST', endpoint: (q, b) => this.phoneNumber(q, b) },
    '/wxa/checksession': { method: 'GET', endpoint: (q) => this.checkSession(q) },
  };

  constructor(
    private readonly apps: ReadonlyMap<string, string>,
    private readonly store: KvStore,
    private readonly random: Random,
    private readonly clock: Clock,
    private readonly options: SandboxWechatOptions = {},
  ) {
    this.defaultAppid = options.defaultAppid ?? apps.keys().next().value ?? 'wxsandbox';
    this.forceRefreshes = new Quota(store, clock, daysAt(QUOTA_DAY_OFFSET_MS));
  }

  /** One WeChat call. Paths are case-sensitive, as at WeChat. */
  async handle(req: SandboxRequest): Promise<SandboxResponse> {
    const route = Object.hasOwn(this.routes, req.path) ? this.routes[req.path] : undefined;
    if (!route) return { status: 200, body: this.error(SANDBOX_ERRCODE.INVALID_URL) };
    if (req.method.toUpperCase() !== route.method) {
      const errcode = route.method === 'GET' ? SANDBOX_ERRCODE.REQUIRE_GET : SANDBOX_ERRCODE.REQUIRE_POST;
      return { status: 200, body: this.error(errcode) };
    }
    return { status: 200, body: await route.endpoint(toSearchParams(req.query), req.body) };
  }

  // ---- what the mini program side gets ----

  /**
   * What `wx.login()` gives the mini program. Like WeChat, a new login may
   * rotate the user's session_key: by default every mint does, so stale-key
   * handling is exercised; `keepSessionKey` keeps the current one.
   * `code` lets a caller that needs the code synchronously choose it.
   */
  async mintLoginCode(
    input: {
      appid?: string;
      openid?: string;
      unionid?: string;
      keepSessionKey?: boolean;
      code?: string;
    } = {},
  ): Promise<MintedLoginCode> {
    const appid = input.appid ?? this.defaultAppid;
    const openid = input.openid ?? `o${this.random.bytes(20).toString('base64url')}`;
    const code = input.code ?? this.random.bytes(24).toString('base64url');
    this.issued('loginCode', code);

    const existing = await this.user(appid, openid);
    const sessionKey =
      input.keepSessionKey && existing ? existing.sessionKey : this.random.bytes(16).toString('base64');
    if (sessionKey !== existing?.sessionKey) this.issued('sessionKey', sessionKey);
    // unionid belongs to the person, not to one login: once known it comes back with every later code.
    const unionid = input.unionid ?? existing?.unionid;
    const user: UserRecord = { sessionKey, ...(unionid ? { unionid } : {}) };
    await this.store.set(userKey(appid, openid), JSON.stringify(user), SESSION_KEY_TTL_MS);

    const record: LoginCodeRecord = { appid, openid };
    await this.store.set(StoreKeys.sandboxCode(code), JSON.stringify(record), CODE_TTL_MS);
    return { code, appid, openid, expiresIn: CODE_TTL_MS / SECOND };
  }

  /** What the `getPhoneNumber` button gives the mini program (the phone code, not a login code). */
  async mintPhoneCode(input: {
    appid?: string;
    openid: string;
    phoneNumber?: string;
    countryCode?: string;
  }): Promise<MintedPhoneCode> {
    const code = this.random.bytes(32).toString('hex');
    this.issued('phoneCode', code);
    const record: PhoneCodeRecord = {
      appid: input.appid ?? this.defaultAppid,
      openid: input.openid,
      purePhoneNumber: input.phoneNumber ?? this.randomCnMobile(),
      countryCode: input.countryCode ?? '86',
      timestamp: this.clock.nowSeconds(),
    };
    this.issued('phoneNumber', record.purePhoneNumber);
    await this.store.set(StoreKeys.sandboxPhoneCode(code), JSON.stringify(record), CODE_TTL_MS);
    return { code, expiresIn: CODE_TTL_MS / SECOND };
  }

  /**
   * Legacy open data for this user, encrypted with their current session_key
   * as WeChat does: user info by default, the phone number when one is given.
   * The watermark overrides make stale or foreign data for tests.
   */
  async mintOpenData(input: {
    appid?: string;
    openid: string;
    data?: Record<string, unknown>;
    phoneNumber?: string;
    countryCode?: string;
    watermarkTimestamp?: number;
    watermarkAppid?: string;
  }): Promise<OpenData> {
    const appid = input.appid ?? this.defaultAppid;
    const sessionKey = (await this.user(appid, input.openid))?.sessionKey;
    if (!sessionKey) throw new NoSandboxSessionError();
    if (input.phoneNumber !== undefined) this.issued('phoneNumber', input.phoneNumber);
    const data =
      input.phoneNumber !== undefined
        ? phoneFields(input.phoneNumber, input.countryCode ?? '86')
        : (input.data ?? defaultUserInfo());
    const rawData = JSON.stringify(data);
    const watermark = {
      appid: input.watermarkAppid ?? appid,
      timestamp: input.watermarkTimestamp ?? this.clock.nowSeconds(),
    };
    const iv = this.random.bytes(16);
    // createCipheriv pads with PKCS#7 by default, which is what WeChat uses.
    const cipher = createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv);
    const plaintext = Buffer.from(JSON.stringify({ ...data, watermark }), 'utf8');
    const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      encryptedData: encrypted.toString('base64'),
      iv: iv.toString('base64'),
      rawData,
      signature: createHash('sha1')
        .update(rawData + sessionKey, 'utf8')
        .digest('hex'),
    };
  }

  /** The session_key WeChat currently holds for this user, as code2Session would return it now. */
  async currentSessionKey(appid: string, openid: string): Promise<string | undefined> {
    return (await this.user(appid, openid))?.sessionKey;
  }

  /**
   * Installs an interface token as the app's current one, as if stable_token
   * had issued it: for tests that need to know the token (or a short-lived
   * one) in advance. Earlier tokens stay valid until they expire.
   */
  async issueAccessToken(
    appid: string,
    opts: { token?: string; expiresIn?: number } = {},
  ): Promise<{ access_token: string; expires_in: number }> {
    const now = this.clock.now();
    const lifetime = (opts.expiresIn ?? ACCESS_TOKEN_LIFETIME_MS / SECOND) * SECOND;
    const current: CurrentToken = {
      token: opts.token ?? this.newAccessToken(),
      expiresAt: now + lifetime,
      epoch: await this.epoch(appid),
    };
    if (opts.token) this.issued('accessToken', opts.token);
    await this.saveToken(appid, current);
    await this.setCurrent(appid, current);
    return tokenAnswer(current, now);
  }

  // ---- WeChat's endpoints ----

  /** `GET /sns/jscode2session` */
  private async jscode2session(q: URLSearchParams): Promise<Record<string, unknown>> {
    const appid = q.get('appid') ?? '';
    const secret = this.apps.get(appid);
    if (secret === undefined) return this.error(SANDBOX_ERRCODE.INVALID_APPID);
    if (q.get('secret') !== secret) return this.error(SANDBOX_ERRCODE.INVALID_SECRET);
    const code = q.get('js_code');
    if (q.get('grant_type') !== 'authorization_code' || !code)
      return this.error(SANDBOX_ERRCODE.INVALID_CODE);

    const minted = parse<LoginCodeRecord>(await this.store.get(StoreKeys.sandboxCode(code)));
    // A code of another app and a phone code (another namespace) are just invalid here, as at WeChat.
    if (!minted || minted.appid !== appid) return this.error(SANDBOX_ERRCODE.INVALID_CODE);
    if (!(await this.store.setIfAbsent(StoreKeys.sandboxCodeUsed(code), '1', CODE_TTL_MS))) {
      return this.error(SANDBOX_ERRCODE.CODE_USED);
    }
    const user = await this.user(appid, minted.openid);
    // The user record outlives its codes by far; gone only if the store was flushed between mint and exchange.
    if (!user) return this.error(SANDBOX_ERRCODE.INVALID_CODE);
    return {
      openid: minted.openid,
      session_key: user.sessionKey,
      ...(user.unionid ? { unionid: user.unionid } : {}),
    };
  }

  /** `POST /cgi-bin/stable_token` */
  private async stableToken(body: unknown): Promise<Record<string, unknown>> {
    const b = jsonObject(body);
    if (typeof b === 'number') return this.error(b);
    if (b.grant_type !== 'client_credential') return this.error(SANDBOX_ERRCODE.INVALID_GRANT_TYPE);
    const appid = typeof b.appid === 'string' ? b.appid : '';
    const secret = this.apps.get(appid);
    if (secret === undefined) return this.error(SANDBOX_ERRCODE.INVALID_APPID);
    if (b.secret !== secret) return this.error(SANDBOX_ERRCODE.INVALID_SECRET);
    if (b.force_refresh !== undefined && typeof b.force_refresh !== 'boolean') {
      return this.error(SANDBOX_ERRCODE.DATA_FORMAT_ERROR);
    }
    return b.force_refresh ? this.forceRefresh(appid) : this.normalToken(appid);
  }

  /**
   * Same token for every caller while it has more than 5 minutes left; in the
   * last 5 minutes the first caller gets a successor and the old one stays
   * valid until it expires, so every answer is good for at least 300 s.
   */
  private async normalToken(appid: string): Promise<Record<string, unknown>> {
    const now = this.clock.now();
    const epoch = await this.epoch(appid);
    const current = parse<CurrentToken>(await this.store.get(StoreKeys.sandboxStable(appid)));
    const live = current && current.epoch === epoch && current.expiresAt > now ? current : undefined;
    if (live && live.expiresAt - now > ACCESS_TOKEN_RENEW_WINDOW_MS) return tokenAnswer(live, now);

    // Renew once across instances: the first to claim "the successor of X" wins, the others hand out its token.
    const candidate: CurrentToken = {
      token: this.newAccessToken(),
      expiresAt: now + ACCESS_TOKEN_LIFETIME_MS,
      epoch,
    };
    await this.saveToken(appid, candidate);
    // Keyed by the last current token, live or expired, so each one has exactly one successor.
    const claim = StoreKeys.sandboxStableNext(appid, epoch, current?.token ?? 'none');
    if (await this.store.setIfAbsent(claim, JSON.stringify(candidate), ACCESS_TOKEN_LIFETIME_MS)) {
      await this.setCurrent(appid, candidate);
      return tokenAnswer(candidate, now);
    }
    const winner = parse<CurrentToken>(await this.store.get(claim));
    if (!winner) {
      // The claim expired in between (only if this call stalled for hours): this candidate is as good as any.
      await this.setCurrent(appid, candidate);
      return tokenAnswer(candidate, now);
    }
    // Lost the race: the candidate was never handed out, so it must not stay valid.
    await this.store.delete(StoreKeys.sandboxToken(candidate.token));
    return tokenAnswer(winner, now);
  }

  /**
   * A new token that invalidates every earlier one at once. WeChat's limits:
   * 20 a day (then 45009), and at least 30 s apart — the docs say a call
   * inside 30 s "does not refresh", so it gets the current token unchanged
   * rather than an error, and does not count toward the 20.
   */
  private async forceRefresh(appid: string): Promise<Record<string, unknown>> {
    if (!(await this.store.setIfAbsent(StoreKeys.sandboxForceGap(appid), '1', FORCE_REFRESH_MIN_GAP_MS))) {
      return this.normalToken(appid);
    }
    const now = this.clock.now();
    if (
      !(await this.forceRefreshes.take(StoreKeys.sandboxForceCount(appid), FORCE_REFRESH_PER_DAY)).allowed
    ) {
      return this.error(SANDBOX_ERRCODE.DAILY_QUOTA);
    }
    // Tokens compare epochs for equality: if this key expires (30 days on), older tokens stay invalid, never revive.
    const epoch = await this.store.increment(StoreKeys.sandboxTokenEpoch(appid), 30 * DAY);
    const fresh: CurrentToken = {
      token: this.newAccessToken(),
      expiresAt: now + ACCESS_TOKEN_LIFETIME_MS,
      epoch,
    };
    await this.saveToken(appid, fresh);
    await this.setCurrent(appid, fresh);
    return tokenAnswer(fresh, now);
  }

  /** `POST /wxa/business/getuserphonenumber?access_token=…` */
  private async phoneNumber(q: URLSearchParams, body: unknown): Promise<Record<string, unknown>> {
    const appid = await this.tokenApp(q);
    if (typeof appid === 'number') return this.error(appid);
    const b = jsonObject(body);
    if (typeof b === 'number') return this.error(b);
    if (b.code === undefined || b.code === '') return this.error(SANDBOX_ERRCODE.CODE_MISSING);
    if (typeof b.code !== 'string' || (b.openid !== undefined && typeof b.openid !== 'string')) {
      return this.error(SANDBOX_ERRCODE.DATA_FORMAT_ERROR);
    }
    const minted = parse<PhoneCodeRecord>(await this.store.get(StoreKeys.sandboxPhoneCode(b.code)));
    // Login codes live in another namespace: the wrong kind of code is simply invalid, like WeChat says.
    if (!minted || minted.appid !== appid) return this.error(SANDBOX_ERRCODE.INVALID_CODE);
    // Checked before the code is spent, so a mismatched call cannot burn the user's code.
    if (b.openid !== undefined && b.openid !== minted.openid) return this.error(SANDBOX_ERRCODE.INVALID_CODE);
    // A reused phone code is 40029 too (WeChat has no "phone code used" errcode).
    if (!(await this.store.setIfAbsent(StoreKeys.sandboxPhoneCodeUsed(b.code), '1', CODE_TTL_MS))) {
      return this.error(SANDBOX_ERRCODE.INVALID_CODE);
    }
    return {
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        ...phoneFields(minted.purePhoneNumber, minted.countryCode),
        watermark: { timestamp: minted.timestamp, appid },
      },
    };
  }

  /**
   * `GET /wxa/checksession`. An unknown openid and a sig_method other than
   * hmac_sha256 are both answered 87009: the signature cannot be the valid
   * one, and 87009 is what makes a client do the right thing (log in again).
   */
  private async checkSession(q: URLSearchParams): Promise<Record<string, unknown>> {
    const appid = await this.tokenApp(q);
    if (typeof appid === 'number') return this.error(appid);
    const openid = q.get('openid');
    if (!openid) return this.error(SANDBOX_ERRCODE.OPENID_MISSING);
    const sessionKey = (await this.user(appid, openid))?.sessionKey;
    if (!sessionKey || q.get('sig_method') !== 'hmac_sha256')
      return this.error(SANDBOX_ERRCODE.INVALID_SIGNATURE);
    // Keyed with the session_key's characters, not its decoded bytes, over the empty string (WECHAT.md).
    const expected = Buffer.from(createHmac('sha256', sessionKey).update('').digest('hex'));
    const given = Buffer.from(q.get('signature') ?? '');
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    return ok ? { errcode: 0, errmsg: 'ok' } : this.error(SANDBOX_ERRCODE.INVALID_SIGNATURE);
  }

  // ---- helpers ----

  /** The app an interface token belongs to, or WeChat's errcode for it. */
  private async tokenApp(q: URLSearchParams): Promise<string | number> {
    const token = q.get('access_token');
    if (!token) return SANDBOX_ERRCODE.ACCESS_TOKEN_MISSING;
    const record = parse<TokenRecord>(await this.store.get(StoreKeys.sandboxToken(token)));
    // Replaced by a force refresh → 40001 "not latest", which clients answer by fetching a new one.
    if (!record || record.epoch !== (await this.epoch(record.appid)))
      return SANDBOX_ERRCODE.INVALID_CREDENTIAL;
    if (this.clock.now() >= record.expiresAt) return SANDBOX_ERRCODE.ACCESS_TOKEN_EXPIRED;
    return record.appid;
  }

  private async epoch(appid: string): Promise<number> {
    return Number((await this.store.get(StoreKeys.sandboxTokenEpoch(appid))) ?? 0);
  }

  private async saveToken(appid: string, t: CurrentToken): Promise<void> {
    const record: TokenRecord = { appid, expiresAt: t.expiresAt, epoch: t.epoch };
    const ttl = t.expiresAt - this.clock.now() + EXPIRED_TOKEN_MEMORY_MS;
    await this.store.set(StoreKeys.sandboxToken(t.token), JSON.stringify(record), ttl);
  }

  private async setCurrent(appid: string, t: CurrentToken): Promise<void> {
    const ttl = t.expiresAt - this.clock.now() + EXPIRED_TOKEN_MEMORY_MS;
    await this.store.set(StoreKeys.sandboxStable(appid), JSON.stringify(t), ttl);
  }

  private newAccessToken(): string {
    const token = this.random.bytes(48).toString('base64url');
    this.issued('accessToken', token);
    return token;
  }

  private async user(appid: string, openid: string): Promise<UserRecord | undefined> {
    return parse<UserRecord>(await this.store.get(userKey(appid, openid)));
  }

  private randomCnMobile(): string {
    return `138${[...this.random.bytes(8)].map((b) => b % 10).join('')}`;
  }

  private issued(kind: IssuedSecret['kind'], value: string): void {
    this.options.onIssued?.({ kind, value });
  }

  /** WeChat's error shape: HTTP 200, errcode, and an errmsg ending in the call's rid. */
  private error(errcode: number): Record<string, unknown> {
    const rid = this.random
      .bytes(12)
      .toString('hex')
      .replace(/^(.{8})(.{8})(.{8})$/, '$1-$2-$3');
    return { errcode, errmsg: `${ERRMSG[errcode] ?? 'system error'}, rid: ${rid}` };
  }
}

function userKey(appid: string, openid: string): string {
  return StoreKeys.sandboxUser(appid, openid);
}

function tokenAnswer(t: CurrentToken, now: number): { access_token: string; expires_in: number } {
  return { access_token: t.token, expires_in: Math.floor((t.expiresAt - now) / SECOND) };
}

/** `phoneNumber` carries the country prefix only for non-CN numbers, as WeChat sends it. */
function phoneFields(purePhoneNumber: string, countryCode: string) {
  return {
    phoneNumber: countryCode === '86' ? purePhoneNumber : `+${countryCode}${purePhoneNumber}`,
    purePhoneNumber,
    countryCode,
  };
}

/** What wx.getUserInfo returns since WeChat stopped exposing profiles (2022): a placeholder user. */
function defaultUserInfo(): Record<string, unknown> {
  return {
    nickName: '微信用户',
    gender: 0,
    language: '',
    city: '',
    province: '',
    country: '',
    avatarUrl: 'https://thirdwx.qlogo.cn/mmopen/vi_32/sandbox/132',
  };
}

/** A POST body as WeChat reads it: absent → 44002, not a JSON object → 47001. */
function jsonObject(body: unknown): Record<string, unknown> | number {
  if (body === undefined || body === null || body === '') return SANDBOX_ERRCODE.EMPTY_POST_DATA;
  if (typeof body !== 'object' || Array.isArray(body)) return SANDBOX_ERRCODE.DATA_FORMAT_ERROR;
  return body as Record<string, unknown>;
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

function parse<T>(raw: string | null): T | undefined {
  return raw === null ? undefined : (JSON.parse(raw) as T);
}
