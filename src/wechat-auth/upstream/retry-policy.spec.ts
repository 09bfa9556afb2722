import { Code2SessionCall } from '../login/code2session.endpoint';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffMs, isRetryable, isUpstreamFailure } from './retry-policy';
import { type ErrcodeMeaning, meaningOf } from './wechat-endpoint';
import { WechatUpstreamError } from './wechat-upstream.error';

const errcode = (n: number) => new WechatUpstreamError('errcode', { errcode: n });
const http = (status: number) => new WechatUpstreamError('http', { httpStatus: status });

/** What the call policy hands these functions: the meaning of the errcode for the endpoint called. */
const login = new Code2SessionCall(false);
const meaning = (e: WechatUpstreamError): ErrcodeMeaning<unknown> | undefined =>
  e.details.errcode !== undefined ? meaningOf(login, e.details.errcode) : undefined;

/** No answer at all: retried, and counted against WeChat. */
const NO_ANSWER: Array<[string, WechatUpstreamError]> = [
  ['a network error', new WechatUpstreamError('network')],
  ['a timeout', new WechatUpstreamError('timeout')],
];

describe('isRetryable', () => {
  it.each<[string, WechatUpstreamError]>([
    ...NO_ANSWER,
    ['HTTP 500', http(500)],
    ['HTTP 502', http(502)],
    ['HTTP 503', http(503)],
    ['HTTP 504', http(504)],
    ['errcode -1 (system busy)', errcode(-1)],
  ])('retries %s', (_label, e) => {
    expect(isRetryable(e, meaning(e))).toBe(true);
  });

  it.each<[string, WechatUpstreamError]>([
    ['40029 invalid code', errcode(40029)],
    ['40163 code used (a retry could not succeed)', errcode(40163)],
    ['40226 high-risk user', errcode(40226)],
    ['45011 minute quota', errcode(45011)],
    ['45009 daily quota', errcode(45009)],
    ['40013 invalid appid', errcode(40013)],
    ['40125 invalid secret', errcode(40125)],
    ['40001 token rejected (refetched by the client, not resent as is)', errcode(40001)],
    ['an unknown errcode', errcode(99999)],
    ['an errcode failure without errcode', new WechatUpstreamError('errcode')],
    ['an unparsable answer', new WechatUpstreamError('unparsable')],
    ['HTTP 404', http(404)],
    ['HTTP 429', http(429)],
    ['an HTTP failure without status', new WechatUpstreamError('http')],
  ])('does not retry %s', (_label, e) => {
    expect(isRetryable(e, meaning(e))).toBe(false);
  });

  it("follows the endpoint's meaning of an errcode, not a fixed list", () => {
    const e = errcode(12345);

    expect(isRetryable(e, { retryable: true })).toBe(true);
    expect(isRetryable(e, { retryable: false })).toBe(false);
    expect(isRetryable(errcode(-1), { error: 'WX_UNAVAILABLE' })).toBe(false);
  });

  it('a meaning cannot make a garbage answer or HTTP 4xx retryable', () => {
    expect(isRetryable(new WechatUpstreamError('unparsable'), { retryable: true })).toBe(false);
    expect(isRetryable(http(404), { retryable: true })).toBe(false);
  });
});

describe('isUpstreamFailure', () => {
  it.each<[string, WechatUpstreamError]>([
    ...NO_ANSWER,
    ['HTTP 502', http(502)],
    ['HTTP 404', http(404)],
    ['an unparsable answer', new WechatUpstreamError('unparsable')],
    ['errcode -1', errcode(-1)],
  ])('%s counts against WeChat', (_label, e) => {
    expect(isUpstreamFailure(e, meaning(e))).toBe(true);
  });

  it.each([40029, 40163, 40226, 45011, 40013, 40125, 40001, 99999])(
    'business errcode %i means WeChat answered',
    (n) => {
      const e = errcode(n);
      expect(isUpstreamFailure(e, meaning(e))).toBe(false);
    },
  );

  it("follows the endpoint's meaning of an errcode", () => {
    expect(isUpstreamFailure(errcode(12345), { upstreamFailure: true })).toBe(true);
    expect(isUpstreamFailure(errcode(-1), {})).toBe(false);
  });
});

describe('backoffMs', () => {
  it('uses a 100 ms base and a 1 s cap', () => {
    expect(BACKOFF_BASE_MS).toBe(100);
    expect(BACKOFF_CAP_MS).toBe(1000);
  });

  it('doubles the window with each attempt until the cap', () => {
    const half = () => 0.5;

    expect([0, 1, 2, 3, 4, 5, 10].map((a) => backoffMs(a, half))).toEqual([50, 100, 200, 400, 500, 500, 500]);
  });

  it('stays strictly below the window (full jitter in [0, window))', () => {
    const almostOne = () => 1 - 2 ** -47;

    expect([0, 1, 2, 3, 4, 20].map((a) => backoffMs(a, almostOne))).toEqual([99, 199, 399, 799, 999, 999]);
  });

  it('can be zero', () => {
    expect(backoffMs(3, () => 0)).toBe(0);
  });

  it('asks the random source once per delay', () => {
    const random = jest.fn(() => 0.25);

    expect(backoffMs(2, random)).toBe(100);
    expect(random).toHaveBeenCalledTimes(1);
  });
});
