import { AppException } from '../../common/errors/app.exception';
import type { ErrorCode } from '../../common/errors/error-codes';
import type { WechatAppCredentials } from '../../config/app-config';
import type { MeterKind } from '../usage/wechat-usage.entity';
import type { LogContext, WechatRequest } from './wechat-http';
import type { WechatUpstreamError } from './wechat-upstream.error';

/** What one WeChat errcode means for a call. Everything not listed is a final WX_UNAVAILABLE. */
export interface ErrcodeMeaning<O = never> {
  /** The API error the call ends with. */
  error?: ErrorCode;
  /** For that error: a status of its `otherStatuses` and/or a more precise message. */
  status?: number;
  message?: string;
  /** Sending the same request again is safe and may succeed. */
  retryable?: boolean;
  /** WeChat itself is unwell: counts against the (appid, endpoint) circuit breaker. */
  upstreamFailure?: boolean;
  /** The interface access_token was refused: refetch it and retry the call once (never more). */
  tokenRejected?: boolean;
  /** Not a failure: the call resolves with this value (e.g. checksession's "stale key"). */
  answer?: O;
}

/**
 * One WeChat endpoint: how to build its request, how to read its answer, and what its errcodes mean.
 * The call policy (deadline, retries, breaker, 45011 stop, concurrency cap) is the same for all of them;
 * adding an endpoint is adding one of these.
 */
export interface WechatEndpoint<I, O> {
  /** Key of the endpoint's breaker, limiter and quota stop, and its name in logs. */
  readonly name: string;
  /** Needs the interface access_token (the client fetches it and handles its rejection). */
  readonly usesAccessToken: boolean;
  /**
   * Never resend a call that may have reached WeChat (a timeout, a cut connection): its input is
   * single-use or the call is billed. Such a failure ends the call (503) instead of being retried.
   */
  readonly noResendAfterDoubt?: boolean;
  /** A metered API: every request that leaves is counted under this kind (UsageMeter, `wechat_usage`). */
  readonly meter?: MeterKind;
  request(app: WechatAppCredentials, input: I, accessToken: string | undefined): WechatRequest;
  /** Tags that identify the call in logs without secrets (e.g. a hash of a code). */
  logContext(input: I): LogContext;
  /** Shape-checks a successful answer; throws WechatUpstreamError('unparsable') for anything else. */
  parse(body: Record<string, unknown>): O;
  /** This endpoint's errcodes, over COMMON_ERRCODES. */
  readonly errcodes: Readonly<Record<number, ErrcodeMeaning<O>>>;
  /** After each failed attempt: return an exception to end the call with it instead (login's doubt rules). */
  onFailure?(failure: WechatUpstreamError, attempt: number): AppException | undefined;
}

/** Errcodes every WeChat server API can answer. */
export const WX = {
  SYSTEM_BUSY: -1,
  INVALID_CREDENTIAL: 40001,
  INVALID_APPID: 40013,
  INVALID_ACCESS_TOKEN: 40014,
  INVALID_CODE: 40029,
  INVALID_SECRET: 40125,
  CODE_USED: 40163,
  HIGH_RISK_USER: 40226,
  ACCESS_TOKEN_EXPIRED: 42001,
  DAILY_QUOTA: 45009,
  MINUTE_QUOTA: 45011,
  INVALID_SIGNATURE: 87009,
} as const;

export const COMMON_ERRCODES: Readonly<Record<number, ErrcodeMeaning>> = {
  [WX.SYSTEM_BUSY]: { error: 'WX_UNAVAILABLE', retryable: true, upstreamFailure: true },
  [WX.MINUTE_QUOTA]: { error: 'WX_RATE_LIMITED' },
  [WX.DAILY_QUOTA]: { error: 'WX_UNAVAILABLE' },
  [WX.INVALID_APPID]: { error: 'WX_MISCONFIGURED' },
  [WX.INVALID_SECRET]: { error: 'WX_MISCONFIGURED' },
  [WX.INVALID_CREDENTIAL]: { error: 'WX_UNAVAILABLE', tokenRejected: true },
  [WX.INVALID_ACCESS_TOKEN]: { error: 'WX_UNAVAILABLE', tokenRejected: true },
  [WX.ACCESS_TOKEN_EXPIRED]: { error: 'WX_UNAVAILABLE', tokenRejected: true },
};

export function meaningOf<O>(
  endpoint: WechatEndpoint<unknown, O>,
  errcode: number,
): ErrcodeMeaning<O> | undefined {
  return endpoint.errcodes[errcode] ?? (COMMON_ERRCODES[errcode] as ErrcodeMeaning<O> | undefined);
}

const RETRY_AFTER_UNAVAILABLE = 5;
const RETRY_AFTER_MISCONFIGURED = 60;
/** WeChat's daily quota resets at midnight Beijing time; an hour is a polite first guess. */
const RETRY_AFTER_DAILY_QUOTA = 3600;

/** Milliseconds until the next wall-clock minute: WeChat's minute quota resets then. */
export function msToNextMinute(nowMs: number): number {
  return 60_000 - (nowMs % 60_000);
}

/** The same in whole seconds (at least 1), for Retry-After. */
export function secondsToNextMinute(nowMs: number): number {
  return Math.max(1, Math.ceil(msToNextMinute(nowMs) / 1000));
}

/** The API error a failed call ends with. Anything unexpected is "unavailable", never a 500. */
export function toAppException(
  failure: WechatUpstreamError,
  meaning: ErrcodeMeaning<unknown> | undefined,
  nowMs: number,
): AppException {
  const code: ErrorCode = meaning?.error ?? 'WX_UNAVAILABLE';
  const base = { cause: failure, ...(meaning?.status !== undefined ? { status: meaning.status } : {}) };
  const message = meaning?.message;
  switch (code) {
    case 'WX_RATE_LIMITED':
      return new AppException(code, { ...base, retryAfter: secondsToNextMinute(nowMs) }, message);
    case 'WX_MISCONFIGURED':
      return new AppException(code, { ...base, retryAfter: RETRY_AFTER_MISCONFIGURED }, message);
    case 'WX_UNAVAILABLE':
      return new AppException(
        code,
        {
          ...base,
          retryAfter:
            failure.details.errcode === WX.DAILY_QUOTA ? RETRY_AFTER_DAILY_QUOTA : RETRY_AFTER_UNAVAILABLE,
        },
        message,
      );
    default:
      return new AppException(code, base, message);
  }
}
