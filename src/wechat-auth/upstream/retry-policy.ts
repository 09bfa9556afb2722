import type { ErrcodeMeaning } from './wechat-endpoint';
import type { WechatUpstreamError } from './wechat-upstream.error';

export const BACKOFF_BASE_MS = 100;
export const BACKOFF_CAP_MS = 1000;

/**
 * Failures that say nothing about the request and may be retried: no connection, no timely answer,
 * HTTP 5xx, and the errcodes the endpoint marks retryable (-1 "system busy"). Business errcodes and
 * garbage answers are final.
 */
export function isRetryable(e: WechatUpstreamError, meaning: ErrcodeMeaning<unknown> | undefined): boolean {
  switch (e.failure) {
    case 'network':
    case 'timeout':
      return true;
    case 'http':
      return (e.details.httpStatus ?? 0) >= 500;
    case 'errcode':
      return meaning?.retryable === true;
    default:
      return false;
  }
}

/** Whether the failure means WeChat itself is not answering properly (feeds the circuit breaker). */
export function isUpstreamFailure(
  e: WechatUpstreamError,
  meaning: ErrcodeMeaning<unknown> | undefined,
): boolean {
  return e.failure !== 'errcode' || meaning?.upstreamFailure === true;
}

/** Capped exponential backoff with full jitter: uniform in [0, min(cap, base·2^attempt)). */
export function backoffMs(attempt: number, random: () => number): number {
  return Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
}
