import { AppException } from '../../common/errors/app.exception';
import type { ErrorCode } from '../../common/errors/error-codes';
import { StableTokenEndpoint } from '../interface-token/stable-token.endpoint';
import { Code2SessionCall } from '../login/code2session.endpoint';
import {
  COMMON_ERRCODES,
  type ErrcodeMeaning,
  meaningOf,
  msToNextMinute,
  secondsToNextMinute,
  toAppException,
  WX,
  type WechatEndpoint,
} from './wechat-endpoint';
import { WechatUpstreamError } from './wechat-upstream.error';

// 12:34:42.300 UTC: 17.7 s left in the minute.
const NOW = Date.UTC(2026, 0, 1, 12, 34, 42, 300);

const login = new Code2SessionCall(false);
const errcode = (n: number) => new WechatUpstreamError('errcode', { errcode: n, rid: 'rid-123456' });
/** As the call policy does it: the endpoint's meaning of the errcode, over the common ones. */
const forLogin = (failure: WechatUpstreamError): AppException =>
  toAppException(
    failure,
    failure.details.errcode !== undefined ? meaningOf(login, failure.details.errcode) : undefined,
    NOW,
  );

function endpointWith(errcodes: Record<number, ErrcodeMeaning<string>>): WechatEndpoint<string, string> {
  return {
    name: 'test',
    usesAccessToken: false,
    errcodes,
    request: () => ({ method: 'GET', path: '/test' }),
    logContext: () => ({}),
    parse: () => 'ok',
  };
}

describe('meaningOf', () => {
  it("prefers the endpoint's own meaning over COMMON_ERRCODES", () => {
    const own: ErrcodeMeaning<string> = { error: 'WX_CODE_INVALID', status: 400 };
    const endpoint = endpointWith({ [WX.SYSTEM_BUSY]: own });

    expect(meaningOf(endpoint, WX.SYSTEM_BUSY)).toBe(own);
    expect(meaningOf(endpoint, WX.MINUTE_QUOTA)).toBe(COMMON_ERRCODES[WX.MINUTE_QUOTA]);
  });

  it('falls back to COMMON_ERRCODES, and has nothing for an unknown errcode', () => {
    expect(meaningOf(login, WX.INVALID_APPID)).toEqual({ error: 'WX_MISCONFIGURED' });
    expect(meaningOf(login, WX.INVALID_CODE)).toEqual({ error: 'WX_CODE_INVALID' });
    expect(meaningOf(login, 99999)).toBeUndefined();
    // jscode2session's own codes mean nothing to another endpoint.
    expect(meaningOf(new StableTokenEndpoint(), WX.INVALID_CODE)).toBeUndefined();
  });

  it('marks only -1 retryable and an upstream failure among the common errcodes', () => {
    const retryable = Object.entries(COMMON_ERRCODES).filter(([, m]) => m.retryable);
    const upstream = Object.entries(COMMON_ERRCODES).filter(([, m]) => m.upstreamFailure);

    expect(retryable.map(([n]) => Number(n))).toEqual([WX.SYSTEM_BUSY]);
    expect(upstream.map(([n]) => Number(n))).toEqual([WX.SYSTEM_BUSY]);
  });

  it.each([WX.INVALID_CREDENTIAL, WX.INVALID_ACCESS_TOKEN, WX.ACCESS_TOKEN_EXPIRED])(
    'errcode %i rejects the interface token',
    (n) => {
      expect(COMMON_ERRCODES[n]).toMatchObject({ tokenRejected: true });
    },
  );
});

describe('toAppException (code2Session meanings)', () => {
  it.each<[number, ErrorCode, number]>([
    [40029, 'WX_CODE_INVALID', 401],
    [40163, 'WX_CODE_USED', 401],
    [40226, 'WX_USER_BLOCKED', 403],
  ])('errcode %i → %s (%i), no Retry-After', (n, code, status) => {
    const upstream = errcode(n);

    const e = forLogin(upstream);

    expect(e).toBeInstanceOf(AppException);
    expect(e.code).toBe(code);
    expect(e.getStatus()).toBe(status);
    expect(e.extras.retryAfter).toBeUndefined();
    expect(e.extras.cause).toBe(upstream);
  });

  it('errcode 45011 (minute quota) → WX_RATE_LIMITED 429, retry at the next wall-clock minute', () => {
    const e = forLogin(errcode(45011));

    expect(e.code).toBe('WX_RATE_LIMITED');
    expect(e.getStatus()).toBe(429);
    expect(e.extras.retryAfter).toBe(18);
  });

  it('45011 Retry-After follows the clock, not a constant', () => {
    const upstream = errcode(45011);
    const meaning = meaningOf(login, 45011);

    expect(toAppException(upstream, meaning, Date.UTC(2026, 0, 1, 0, 0, 0)).extras.retryAfter).toBe(60);
    expect(toAppException(upstream, meaning, Date.UTC(2026, 0, 1, 0, 0, 59, 500)).extras.retryAfter).toBe(1);
  });

  /** The login's answer to `upstream`: `code`, 503, Retry-After `retryAfter`, WeChat's error kept as the cause. */
  function expect503(upstream: WechatUpstreamError, code: string, retryAfter: number): void {
    const e = forLogin(upstream);

    expect(e.code).toBe(code);
    expect(e.getStatus()).toBe(503);
    expect(e.extras.retryAfter).toBe(retryAfter);
    expect(e.extras.cause).toBe(upstream);
  }

  it.each([40013, 40125])('errcode %i (bad appid/secret) → WX_MISCONFIGURED 503 with Retry-After', (n) => {
    expect503(errcode(n), 'WX_MISCONFIGURED', 60);
  });

  it('errcode 45009 (daily quota) → WX_UNAVAILABLE with an hour of Retry-After', () => {
    const e = forLogin(errcode(45009));

    expect(e.code).toBe('WX_UNAVAILABLE');
    expect(e.extras.retryAfter).toBe(3600);
  });

  it.each<[string, WechatUpstreamError]>([
    ['errcode -1 (system busy)', errcode(-1)],
    ['an unknown errcode', errcode(99999)],
    ['a token errcode', errcode(40001)],
    ['errcode failure without an errcode', new WechatUpstreamError('errcode')],
    ['HTTP 502', new WechatUpstreamError('http', { httpStatus: 502 })],
    ['timeout', new WechatUpstreamError('timeout')],
    ['network', new WechatUpstreamError('network')],
    ['unparsable', new WechatUpstreamError('unparsable')],
  ])('%s → WX_UNAVAILABLE 503 with Retry-After', (_label, upstream) => {
    expect503(upstream, 'WX_UNAVAILABLE', 5);
  });

  it('no meaning → WX_UNAVAILABLE, never a 500', () => {
    expect(toAppException(errcode(40029), undefined, NOW).code).toBe('WX_UNAVAILABLE');
  });

  it("never passes WeChat's text into the client-facing message", () => {
    const e = forLogin(new WechatUpstreamError('errcode', { errcode: 40029, rid: 'rid-abcdef' }));

    expect(e.message).not.toContain('rid-abcdef');
    expect(e.message).not.toContain('40029');
  });
});

describe('toAppException (an endpoint meaning with a status and a message)', () => {
  it("uses the meaning's status from the catalogue's otherStatuses and its message", () => {
    const e = toAppException(
      errcode(40029),
      { error: 'WX_CODE_INVALID', status: 400, message: 'The phone code is invalid or expired.' },
      NOW,
    );

    expect(e.code).toBe('WX_CODE_INVALID');
    expect(e.getStatus()).toBe(400);
    expect(e.message).toBe('The phone code is invalid or expired.');
  });

  it("keeps the catalogue's message when the meaning has none", () => {
    const e = toAppException(errcode(40029), { error: 'WX_CODE_INVALID' }, NOW);

    expect(e.getStatus()).toBe(401);
    expect(e.message).toBe(new AppException('WX_CODE_INVALID').message);
  });
});

describe('msToNextMinute', () => {
  it('is the exact milliseconds to the wall-clock minute', () => {
    const minute = Date.UTC(2026, 0, 1, 8, 15);

    expect(msToNextMinute(minute)).toBe(60_000);
    expect(msToNextMinute(minute + 45_300)).toBe(14_700);
    expect(msToNextMinute(minute + 59_999)).toBe(1);
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
