import { AppException } from '../common/errors/app.exception';
import type { ErrorCode } from '../common/errors/error-codes';
import { secondsToNextMinute, toAppException } from './wechat-error-mapping';
import { WechatUpstreamError } from './wechat-upstream.error';

// 12:34:42.300 UTC: 17.7 s left in the minute.
const NOW = Date.UTC(2026, 0, 1, 12, 34, 42, 300);

describe('toAppException', () => {
  it.each<[number, ErrorCode, number]>([
    [40029, 'WX_CODE_INVALID', 401],
    [40163, 'WX_CODE_USED', 401],
    [40226, 'WX_USER_BLOCKED', 403],
  ])('errcode %i → %s (%i), no Retry-After', (errcode, code, status) => {
    const upstream = new WechatUpstreamError('errcode', { errcode, rid: 'rid-123456' });

    const e = toAppException(upstream, NOW);

    expect(e).toBeInstanceOf(AppException);
    expect(e.code).toBe(code);
    expect(e.getStatus()).toBe(status);
    expect(e.extras.retryAfter).toBeUndefined();
    expect(e.extras.cause).toBe(upstream);
  });

  it('errcode 45011 (minute quota) → WX_RATE_LIMITED 429, retry at the next wall-clock minute', () => {
    const e = toAppException(new WechatUpstreamError('errcode', { errcode: 45011 }), NOW);

    expect(e.code).toBe('WX_RATE_LIMITED');
    expect(e.getStatus()).toBe(429);
    expect(e.extras.retryAfter).toBe(18);
  });

  it('45011 Retry-After follows the clock, not a constant', () => {
    const upstream = new WechatUpstreamError('errcode', { errcode: 45011 });

    expect(toAppException(upstream, Date.UTC(2026, 0, 1, 0, 0, 0)).extras.retryAfter).toBe(60);
    expect(toAppException(upstream, Date.UTC(2026, 0, 1, 0, 0, 59, 500)).extras.retryAfter).toBe(1);
  });

  it.each([40013, 40125])(
    'errcode %i (bad appid/secret) → WX_MISCONFIGURED 503 with Retry-After',
    (errcode) => {
      const upstream = new WechatUpstreamError('errcode', { errcode });

      const e = toAppException(upstream, NOW);

      expect(e.code).toBe('WX_MISCONFIGURED');
      expect(e.getStatus()).toBe(503);
      expect(e.extras.retryAfter).toBe(60);
      expect(e.extras.cause).toBe(upstream);
    },
  );

  it.each<[string, WechatUpstreamError]>([
    ['errcode -1 (system busy)', new WechatUpstreamError('errcode', { errcode: -1 })],
    ['an unknown errcode', new WechatUpstreamError('errcode', { errcode: 99999 })],
    ['a token errcode that does not apply here', new WechatUpstreamError('errcode', { errcode: 40001 })],
    ['errcode failure without an errcode', new WechatUpstreamError('errcode')],
    ['HTTP 502', new WechatUpstreamError('http', { httpStatus: 502 })],
    ['timeout', new WechatUpstreamError('timeout')],
    ['network', new WechatUpstreamError('network')],
    ['unparsable', new WechatUpstreamError('unparsable')],
  ])('%s → WX_UNAVAILABLE 503 with Retry-After', (_label, upstream) => {
    const e = toAppException(upstream, NOW);

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(e.getStatus()).toBe(503);
    expect(e.extras.retryAfter).toBe(5);
    expect(e.extras.cause).toBe(upstream);
  });

  it('an errcode carried on a non-errcode failure is ignored', () => {
    // Only a WeChat errcode answer may turn into a client error like 401.
    const e = toAppException(new WechatUpstreamError('http', { errcode: 40029, httpStatus: 500 }), NOW);

    expect(e.code).toBe('WX_UNAVAILABLE');
  });

  it("never passes WeChat's text into the client-facing message", () => {
    const e = toAppException(new WechatUpstreamError('errcode', { errcode: 40029, rid: 'rid-abcdef' }), NOW);

    expect(e.message).not.toContain('rid-abcdef');
    expect(e.message).not.toContain('40029');
  });
});

describe('secondsToNextMinute', () => {
  const minute = Date.UTC(2026, 0, 1, 8, 15);

  it.each<[string, number, number]>([
    ['exactly on the minute', 0, 60],
    ['1 ms past the minute', 1, 60],
    ['0.999 s past', 999, 60],
    ['1 s past', 1000, 59],
    ['30 s past', 30_000, 30],
    ['42.3 s past', 42_300, 18],
    ['58.999 s past', 58_999, 2],
    ['59 s past', 59_000, 1],
    ['1 ms before the next minute', 59_999, 1],
  ])('%s → %i', (_label, offsetMs, expected) => {
    expect(secondsToNextMinute(minute + offsetMs)).toBe(expected);
  });

  it('is the epoch-relative wall-clock minute (0 → 60)', () => {
    expect(secondsToNextMinute(0)).toBe(60);
  });

  it('waits until the minute has turned, and less than a second longer', () => {
    for (let offset = 0; offset < 60_000; offset += 7) {
      const retryAt = minute + offset + secondsToNextMinute(minute + offset) * 1000;
      expect(retryAt).toBeGreaterThanOrEqual(minute + 60_000);
      expect(retryAt).toBeLessThan(minute + 61_000);
    }
  });
});
