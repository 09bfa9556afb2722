import { AppException } from '../common/errors/app.exception';
import type { ErrorCode } from '../common/errors/error-codes';
import { WechatUpstreamError } from './wechat-upstream.error';

/** WeChat errcodes of jscode2session and what they mean for our API. */
export const WX_ERRCODE = {
  SYSTEM_BUSY: -1,
  INVALID_CODE: 40029,
  CODE_USED: 40163,
  HIGH_RISK_USER: 40226,
  MINUTE_QUOTA: 45011,
  INVALID_APPID: 40013,
  INVALID_SECRET: 40125,
} as const;

const ERRCODE_TO_ERROR: Record<number, ErrorCode> = {
  [WX_ERRCODE.INVALID_CODE]: 'WX_CODE_INVALID',
  [WX_ERRCODE.CODE_USED]: 'WX_CODE_USED',
  [WX_ERRCODE.HIGH_RISK_USER]: 'WX_USER_BLOCKED',
  [WX_ERRCODE.MINUTE_QUOTA]: 'WX_RATE_LIMITED',
  [WX_ERRCODE.INVALID_APPID]: 'WX_MISCONFIGURED',
  [WX_ERRCODE.INVALID_SECRET]: 'WX_MISCONFIGURED',
};

const RETRY_AFTER_UNAVAILABLE = 5;
const RETRY_AFTER_MISCONFIGURED = 60;

/** Milliseconds until the next wall-clock minute: WeChat's minute quota resets then. */
export function msToNextMinute(nowMs: number): number {
  return 60_000 - (nowMs % 60_000);
}

/** The same in whole seconds (at least 1), for Retry-After. */
export function secondsToNextMinute(nowMs: number): number {
  return Math.max(1, Math.ceil(msToNextMinute(nowMs) / 1000));
}

/** The API error for an upstream failure. Anything unexpected is "unavailable", never a 500. */
export function toAppException(err: WechatUpstreamError, nowMs: number): AppException {
  const code: ErrorCode =
    err.failure === 'errcode' && err.details.errcode !== undefined
      ? (ERRCODE_TO_ERROR[err.details.errcode] ?? 'WX_UNAVAILABLE')
      : 'WX_UNAVAILABLE';
  switch (code) {
    case 'WX_RATE_LIMITED':
      return new AppException(code, { retryAfter: secondsToNextMinute(nowMs), cause: err });
    case 'WX_MISCONFIGURED':
      return new AppException(code, { retryAfter: RETRY_AFTER_MISCONFIGURED, cause: err });
    case 'WX_UNAVAILABLE':
      return new AppException(code, { retryAfter: RETRY_AFTER_UNAVAILABLE, cause: err });
    default:
      return new AppException(code, { cause: err });
  }
}
