import type { Clock } from '../../common/clock/clock';
import type { Random } from '../../common/random/random';
import type { KvStore } from '../../common/store/kv-store';
import type { SandboxMediaCheck } from './sandbox-content';

/**
 * WeChat's errcodes as WeChat sends them. The sandbox is WeChat's side of the
 * wire, so it keeps its own list instead of importing the service's mapping:
 * a typo on one side must not be mirrored on the other.
 */
export const SANDBOX_ERRCODE = {
  SYSTEM_BUSY: -1,
  INVALID_CREDENTIAL: 40001,
  INVALID_GRANT_TYPE: 40002,
  INVALID_OPENID: 40003,
  INVALID_APPID: 40013,
  INVALID_CODE: 40029,
  INVALID_URL: 40066,
  INVALID_SECRET: 40125,
  INVALID_SCENE: 40129,
  CODE_USED: 40163,
  ACCESS_TOKEN_MISSING: 41001,
  CODE_MISSING: 41008,
  OPENID_MISSING: 41009,
  ACCESS_TOKEN_EXPIRED: 42001,
  REQUIRE_GET: 43001,
  REQUIRE_POST: 43002,
  APPID_OPENID_MISMATCH: 43104,
  EMPTY_POST_DATA: 44002,
  DAILY_QUOTA: 45009,
  DATA_FORMAT_ERROR: 47001,
  API_UNAUTHORIZED: 48001,
  USER_NOT_RECENT: 61010,
  INVALID_SIGNATURE: 87009,
} as const;

const ERRMSG: Record<number, string> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40003: 'invalid openid',
  40013: 'invalid appid',
  40029: 'invalid code',
  40066: 'invalid url',
  40125: 'invalid appsecret',
  40129: 'invalid scene',
  40163: 'code been used',
  41001: 'access_token missing',
  41008: 'missing code',
  41009: 'missing openid',
  42001: 'access_token expired',
  43001: 'require GET method',
  43002: 'require POST method',
  43104: 'appid does not match openid',
  44002: 'empty post data',
  45009: 'reach max api daily quota limit',
  47001: 'data format error',
  48001: 'api unauthorized',
  61010: 'user access record expired',
  87009: 'invalid signature',
};

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const DAY = 24 * 60 * MINUTE;

/** wx.login codes and phone codes: 5 minutes, single use. */
export const CODE_TTL_MS = 5 * MINUTE;
export const CODE_TTL_SECONDS = CODE_TTL_MS / SECOND;

/** What one of WeChat's endpoints answers (always with HTTP 200). */
export type WechatAnswer = Record<string, unknown>;

/** Every secret (and phone number: personal data) the sandbox hands out, so tests can prove none reaches a log. */
export interface IssuedSecret {
  kind: 'loginCode' | 'phoneCode' | 'sessionKey' | 'accessToken' | 'phoneNumber';
  value: string;
}

export interface SandboxWechatOptions {
  /** The app minted for when none is named; default: the first of `apps`. */
  defaultAppid?: string;
  onIssued?: (secret: IssuedSecret) => void;
  /** Told of every image check media_check_async accepted, with the verdict to push (sandbox-content.ts). */
  onMediaCheck?: (check: SandboxMediaCheck) => void;
}

/** What every capability of the sandbox shares: the apps, the state, and WeChat's error shape. */
export class SandboxContext {
  readonly defaultAppid: string;

  constructor(
    /** appid → secret */
    readonly apps: ReadonlyMap<string, string>,
    readonly store: KvStore,
    readonly random: Random,
    readonly clock: Clock,
    private readonly options: SandboxWechatOptions = {},
  ) {
    this.defaultAppid = options.defaultAppid ?? apps.keys().next().value ?? 'wxsandbox';
  }

  issued(kind: IssuedSecret['kind'], value: string): void {
    this.options.onIssued?.({ kind, value });
  }

  /** The JSON record stored under `key`, or undefined when there is none (or it expired). */
  async readJson<T>(key: string): Promise<T | undefined> {
    const raw = await this.store.get(key);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }

  /** Keeps a minted code's record for the code's lifetime. */
  async saveCode(key: string, record: object): Promise<void> {
    await this.store.set(key, JSON.stringify(record), CODE_TTL_MS);
  }

  /** Spends a single-use code (`usedKey` is its "used" marker): false when it was spent already. */
  spendCode(usedKey: string): Promise<boolean> {
    return this.store.setIfAbsent(usedKey, '1', CODE_TTL_MS);
  }

  /** WeChat's check of an app's credentials: the errcode for an unknown appid or a wrong secret, else undefined. */
  credentialsError(appid: string, secret: unknown): number | undefined {
    const expected = this.apps.get(appid);
    if (expected === undefined) return SANDBOX_ERRCODE.INVALID_APPID;
    return secret === expected ? undefined : SANDBOX_ERRCODE.INVALID_SECRET;
  }

  /** WeChat's error shape: HTTP 200, errcode, and an errmsg ending in the call's rid. */
  error(errcode: number): WechatAnswer {
    const rid = this.random
      .bytes(12)
      .toString('hex')
      .replace(/^(.{8})(.{8})(.{8})$/, '$1-$2-$3');
    return { errcode, errmsg: `${ERRMSG[errcode] ?? 'system error'}, rid: ${rid}` };
  }
}

/** A POST body as WeChat reads it: absent → 44002, not a JSON object → 47001. */
export function jsonObject(body: unknown): Record<string, unknown> | number {
  if (body === undefined || body === null || body === '') return SANDBOX_ERRCODE.EMPTY_POST_DATA;
  if (typeof body !== 'object' || Array.isArray(body)) return SANDBOX_ERRCODE.DATA_FORMAT_ERROR;
  return body as Record<string, unknown>;
}
