import { WX_ERRCODE } from '../wechat-error-mapping';
import type { WechatUpstreamError } from '../wechat-upstream.error';

export const BACKOFF_BASE_MS = 100;
export const BACKOFF_CAP_MS = 1000;

/**
 * Failures that say nothing about the code and may be retried: no connection,
 * no timely answer, HTTP 5xx, errcode -1 ("system busy"). Business errcodes
 * (40029, 40163, 40226, 45011, 40013, 40125…) and garbage answers are final.
 */
export function isRetryable(e: WechatUpstreamError): boolean {
  switch (e.failure) {
    case 'network':
    case 'timeout':
      return true;
    case 'http':
      return (e.details.httpStatus ?? 0) >= 500;
    case 'errcode':
      return e.details.errcode === WX_ERRCODE.SYSTEM_BUSY;
    default:
      return false;
  }
}

/** Whether the failure means WeChat itself is not answering properly (feeds the circuit breaker). */
export function isUpstreamFailure(e: WechatUpstreamError): boolean {
  return e.failure !== 'errcode' || e.details.errcode === WX_ERRCODE.SYSTEM_BUSY;
}

/** Capped exponential backoff with full jitter: uniform in [0, min(cap, base·2^attempt)). */
export function backoffMs(attempt: number, random: () => number): number {
  return Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
}
