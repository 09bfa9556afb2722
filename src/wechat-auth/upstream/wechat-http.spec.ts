import { Readable } from 'node:stream';
import { Logger } from '@nestjs/common';
import type { WechatAppCredentials } from '../../config/app-config';
import { testConfig } from '../../testing/test-config';
import { StableTokenEndpoint } from '../interface-token/stable-token.endpoint';
import { Code2SessionCall, codeTag } from '../login/code2session.endpoint';
import {
  type HttpAnswer,
  type HttpRequestFn,
  type LogContext,
  MAX_RESPONSE_BYTES,
  WechatHttp,
  type WechatRequest,
} from './wechat-http';
import { type UpstreamFailure, WechatUpstreamError } from './wechat-upstream.error';

const API_BASE = 'https://wx.test';
const APP: WechatAppCredentials = { appid: 'wxapp_one', secret: 'S3CRET-do-not-log-7d41' };
const CODE = 'LOGINCODE-do-not-log-9f2e';
// base64 of 'sessionKeyDoNotLog' (WeChat's session_key is standard base64 of 16 bytes).
const SESSION_KEY = 'c2Vzc2lvbktleURvTm90TG9n';
const RID = '6a1b2c3d-1234abcd-5678ef90';

const config = testConfig({ WECHAT_API_BASE: API_BASE, WECHAT_APPID: APP.appid, WECHAT_SECRET: APP.secret });
const login = new Code2SessionCall(false);
/** The request and log context the call policy builds for a login. */
const LOGIN_REQUEST: WechatRequest = login.request(APP, CODE);
const LOGIN_LOG: LogContext = { api: login.name, appid: APP.appid, ...login.logContext(CODE) };

/** An answer as undici's `request` gives it: the status, lower-case headers, the body as a Node stream. */
function answerOf(body: Readable, status = 200, headers: Record<string, string> = {}): HttpAnswer {
  return { statusCode: status, headers, body };
}

function textResponse(body: string, status = 200, contentType = 'text/plain'): HttpAnswer {
  return answerOf(Readable.from([Buffer.from(body)]), status, { 'content-type': contentType });
}

function jsonResponse(body: unknown, status = 200): HttpAnswer {
  // WeChat often labels JSON as text/plain; the client must not care.
  return textResponse(JSON.stringify(body), status);
}

/** An answer streamed in 1 KiB chunks, `chunks` of them (Infinity: never ends), counting what was read. */
function streamedResponse(chunks: number, headers: Record<string, string> = {}) {
  const stats = { pulled: 0, cancelled: false };
  const chunk = Buffer.from('x'.repeat(1024));
  const body = new Readable({
    highWaterMark: 0,
    read() {
      if (stats.pulled >= chunks) {
        this.push(null);
        return;
      }
      stats.pulled++;
      this.push(chunk);
    },
    destroy(error, callback) {
      stats.cancelled = true;
      // As undici's body does: destroyed without a reason, it errors (RequestAbortedError).
      callback(error ?? Object.assign(new Error('Request aborted'), { code: 'UND_ERR_ABORTED' }));
    },
  });
  return { response: answerOf(body, 200, headers), stats };
}

function httpAnswering(answer: () => Promise<HttpAnswer>): {
  http: WechatHttp;
  requestFn: jest.Mock<Promise<HttpAnswer>, Parameters<HttpRequestFn>>;
} {
  const requestFn = jest.fn<Promise<HttpAnswer>, Parameters<HttpRequestFn>>(answer);
  return { http: new WechatHttp(config, requestFn), requestFn };
}

const sendLogin = (http: WechatHttp, timeoutMs = 3000) => http.send(LOGIN_REQUEST, LOGIN_LOG, timeoutMs);

async function upstreamErrorOf(promise: Promise<unknown>): Promise<WechatUpstreamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WechatUpstreamError);
  return error as WechatUpstreamError;
}

function networkError(): Error {
  // undici's shape: the socket error itself, with its code. Its text may name the host (and could name more).
  return Object.assign(
    new Error(`connect ECONNREFUSED for ${API_BASE}/sns/jscode2session?secret=${APP.secret}&js_code=${CODE}`),
    { code: 'ECONNREFUSED' },
  );
}

const LOG_METHODS = ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'] as const;
let logSpies: jest.SpyInstance[];

beforeEach(() => {
  logSpies = LOG_METHODS.map((m) => jest.spyOn(Logger.prototype, m).mockImplementation(() => undefined));
});

afterEach(() => {
  jest.restoreAllMocks();
});

function loggedCalls(): string[] {
  return logSpies.flatMap((spy) => spy.mock.calls.map((args: unknown[]) => JSON.stringify(args)));
}

describe('WechatHttp.send: the request', () => {
  it('GETs ${apiBase}${path} with the query, no body and no content-type', async () => {
    const { http, requestFn } = httpAnswering(async () =>
      jsonResponse({ openid: 'o1', session_key: SESSION_KEY }),
    );

    await sendLogin(http);

    expect(requestFn).toHaveBeenCalledTimes(1);
    const [input, init] = requestFn.mock.calls[0];
    const url = new URL(input);
    expect(`${url.origin}${url.pathname}`).toBe(`${API_BASE}/sns/jscode2session`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      appid: APP.appid,
      secret: APP.secret,
      js_code: CODE,
      grant_type: 'authorization_code',
    });
    expect(init.method).toBe('GET');
    expect(init.body).toBeUndefined();
    expect(init.headers).toEqual({ accept: 'application/json' });
    expect(init.signal).toBeInstanceOf(AbortSignal);
    expect(init.signal?.aborted).toBe(false);
  });

  it('POSTs the JSON body with content-type application/json', async () => {
    const { http, requestFn } = httpAnswering(async () =>
      jsonResponse({ access_token: 'ACCESS_TOKEN_0123456789', expires_in: 7200 }),
    );
    const stable = new StableTokenEndpoint();

    await http.send(stable.request(APP, { forceRefresh: false }), { api: stable.name }, 3000);

    const [input, init] = requestFn.mock.calls[0];
    expect(input).toBe(`${API_BASE}/cgi-bin/stable_token`);
    expect(init.method).toBe('POST');
    expect(init.headers).toEqual({ accept: 'application/json', 'content-type': 'application/json' });
    expect(JSON.parse(init.body as string)).toEqual({
      grant_type: 'client_credential',
      appid: APP.appid,
      secret: APP.secret,
    });
  });

  it('POSTs {} when the request has no JSON', async () => {
    const { http, requestFn } = httpAnswering(async () => jsonResponse({}));

    await http.send({ method: 'POST', path: '/x' }, {}, 3000);

    expect(requestFn.mock.calls[0][1].body).toBe('{}');
  });

  it('URL-encodes query values rather than letting them alter the query', async () => {
    const { http, requestFn } = httpAnswering(async () =>
      jsonResponse({ openid: 'o1', session_key: SESSION_KEY }),
    );

    await http.send(login.request(APP, 'a&grant_type=x#y'), LOGIN_LOG, 3000);

    const url = new URL(requestFn.mock.calls[0][0]);
    expect(url.searchParams.get('js_code')).toBe('a&grant_type=x#y');
    expect(url.searchParams.getAll('grant_type')).toEqual(['authorization_code']);
  });

  it('has no query string when the request has no query', async () => {
    const { http, requestFn } = httpAnswering(async () => jsonResponse({}));

    await http.send({ method: 'GET', path: '/cgi-bin/x' }, {}, 3000);

    expect(requestFn.mock.calls[0][0]).toBe(`${API_BASE}/cgi-bin/x`);
  });
});

describe('WechatHttp.send: answers', () => {
  it('returns the JSON object of a text/plain answer', async () => {
    const { http } = httpAnswering(async () =>
      jsonResponse({ openid: 'o1', session_key: SESSION_KEY, unionid: 'u1' }),
    );

    await expect(sendLogin(http)).resolves.toEqual({ openid: 'o1', session_key: SESSION_KEY, unionid: 'u1' });
  });

  it('parses JSON labelled application/json too', async () => {
    const { http } = httpAnswering(async () =>
      textResponse(JSON.stringify({ openid: 'o1' }), 200, 'application/json'),
    );

    await expect(sendLogin(http)).resolves.toEqual({ openid: 'o1' });
  });

  it.each<[string, unknown]>([
    ['errcode 0', 0],
    ['errcode "0" (a string)', '0'],
  ])('accepts %s as success', async (_label, errcode) => {
    const { http } = httpAnswering(async () => jsonResponse({ errcode, errmsg: 'ok', phone_info: { a: 1 } }));

    await expect(sendLogin(http)).resolves.toEqual({ errcode, errmsg: 'ok', phone_info: { a: 1 } });
  });

  it('accepts an answer of exactly MAX_RESPONSE_BYTES', async () => {
    const json = JSON.stringify({ pad: '' });
    const body = JSON.stringify({ pad: 'p'.repeat(MAX_RESPONSE_BYTES - json.length) });
    expect(Buffer.byteLength(body)).toBe(MAX_RESPONSE_BYTES);
    const { http } = httpAnswering(async () => textResponse(body));

    await expect(sendLogin(http)).resolves.toHaveProperty('pad');
  });

  it('reassembles a UTF-8 character split across chunks', async () => {
    const bytes = Buffer.from(JSON.stringify({ name: '微信' }));
    const body = Readable.from([bytes.subarray(0, 11), bytes.subarray(11)]);
    const { http } = httpAnswering(async () => answerOf(body));

    await expect(sendLogin(http)).resolves.toEqual({ name: '微信' });
  });
});

describe('WechatHttp.send: failures', () => {
  it('errcode answer (HTTP 200) → errcode failure with the errcode and the rid from errmsg', async () => {
    const { http } = httpAnswering(async () =>
      jsonResponse({ errcode: 40029, errmsg: `invalid code, rid: ${RID}` }),
    );

    const error = await upstreamErrorOf(sendLogin(http));

    expect(error.failure).toBe('errcode');
    expect(error.details).toEqual({ errcode: 40029, rid: RID });
  });

  it('errcode answer without a rid → rid undefined', async () => {
    const { http } = httpAnswering(async () => jsonResponse({ errcode: -1, errmsg: 'system error' }));

    const error = await upstreamErrorOf(sendLogin(http));

    expect(error.failure).toBe('errcode');
    expect(error.details.errcode).toBe(-1);
    expect(error.details.rid).toBeUndefined();
  });

  it('numeric-string errcode is read as a number', async () => {
    const { http } = httpAnswering(async () => jsonResponse({ errcode: '45011', errmsg: `rid: ${RID}` }));

    const error = await upstreamErrorOf(sendLogin(http));

    expect(error.failure).toBe('errcode');
    expect(error.details).toEqual({ errcode: 45011, rid: RID });
  });

  it.each<[string, unknown]>([
    ['non-numeric', 'oops'],
    ['fractional', 1.5],
    ['null', null],
    ['empty-string', ''],
    ['boolean', true],
  ])('%s errcode → unparsable', async (_label, errcode) => {
    const { http } = httpAnswering(async () => jsonResponse({ errcode, errmsg: 'x' }));

    expect((await upstreamErrorOf(sendLogin(http))).failure).toBe('unparsable');
  });

  it.each([500, 502, 503, 404])('HTTP %i → http failure with the status', async (status) => {
    const { http } = httpAnswering(async () => textResponse('<html>Bad Gateway</html>', status, 'text/html'));

    const error = await upstreamErrorOf(sendLogin(http));

    expect(error.failure).toBe('http');
    expect(error.details).toEqual({ httpStatus: status });
  });

  it('HTTP 5xx wins over a JSON body that looks like success', async () => {
    const { http } = httpAnswering(async () => jsonResponse({ openid: 'o1', session_key: SESSION_KEY }, 503));

    expect((await upstreamErrorOf(sendLogin(http))).failure).toBe('http');
  });

  it.each<[string, string]>([
    ['HTML', '<html><body>502 Bad Gateway</body></html>'],
    ['empty body', ''],
    ['truncated JSON', '{"openid":"o1","session_'],
    ['JSON array', '[{"openid":"o1","session_key":"k"}]'],
    ['JSON null', 'null'],
    ['JSON string', '"ok"'],
    ['JSON number', '42'],
  ])('%s → unparsable', async (_label, body) => {
    const { http } = httpAnswering(async () => textResponse(body));

    const error = await upstreamErrorOf(sendLogin(http));

    expect(error.failure).toBe('unparsable');
    expect(error.details).toEqual({});
  });

  // maybeDelivered: whether the request may have reached WeChat (and spent a code) although no answer came back.
  it.each<[string, () => Error, UpstreamFailure, boolean]>([
    [
      'TimeoutError (AbortSignal.timeout)',
      () => new DOMException('The operation timed out.', 'TimeoutError'),
      'timeout',
      true,
    ],
    ['AbortError', () => new DOMException('This operation was aborted', 'AbortError'), 'timeout', true],
    ['ECONNREFUSED', networkError, 'network', false],
    ['ENOTFOUND', () => Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 'network', false],
    [
      'UND_ERR_CONNECT_TIMEOUT (never connected)',
      () => Object.assign(new Error('x'), { name: 'ConnectTimeoutError', code: 'UND_ERR_CONNECT_TIMEOUT' }),
      'network',
      false,
    ],
    [
      'UND_ERR_SOCKET (sent, then the other side closed)',
      () => Object.assign(new Error('other side closed'), { name: 'SocketError', code: 'UND_ERR_SOCKET' }),
      'network',
      true,
    ],
    [
      'a wrapped ECONNRESET (the code in `cause`)',
      () => new TypeError('failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }),
      'network',
      true,
    ],
    ['an error without a code', () => new TypeError('failed'), 'network', true],
  ])('the request throwing %s → %s failure', async (_label, makeError, failure, maybeDelivered) => {
    const { http } = httpAnswering(() => Promise.reject(makeError()));

    const error = await upstreamErrorOf(sendLogin(http));

    expect(error.failure).toBe(failure);
    expect(error.details).toEqual({ maybeDelivered });
  });

  it('a timeout while reading the body → timeout failure', async () => {
    const body = new Readable({
      read() {
        this.destroy(new DOMException('The operation timed out.', 'TimeoutError'));
      },
    });
    const { http } = httpAnswering(async () => answerOf(body));

    const error = await upstreamErrorOf(sendLogin(http));

    expect(error.failure).toBe('timeout');
    expect(error.details.maybeDelivered).toBe(true);
  });

  it('gives the request a timeout signal of the time it was handed (at least 1 ms)', async () => {
    const timeout = jest.spyOn(AbortSignal, 'timeout');
    const { http } = httpAnswering(async () => jsonResponse({}));

    await sendLogin(http, 950);
    await sendLogin(http, 0);

    expect(timeout.mock.calls).toEqual([[950], [1]]);
  });
});

describe('WechatHttp.send: the answer size cap', () => {
  it('an answer declared (content-length) over MAX_RESPONSE_BYTES → unparsable, without reading its body', async () => {
    const { response, stats } = streamedResponse(Infinity, {
      'content-length': String(256 * 1024 * 1024),
    });
    const { http } = httpAnswering(async () => response);

    const error = await upstreamErrorOf(sendLogin(http));

    expect(error.failure).toBe('unparsable');
    expect(error.details).toEqual({});
    expect(stats.pulled).toBe(0);
    expect(stats.cancelled).toBe(true);
    expect(jest.mocked(Logger.prototype.warn)).toHaveBeenCalledWith(
      expect.objectContaining({ failure: 'unparsable', tooLarge: true }),
      expect.any(String),
    );
  });

  it('an answer streamed without content-length → unparsable once it passes the cap, the rest never read', async () => {
    const { response, stats } = streamedResponse(Infinity);
    const { http } = httpAnswering(async () => response);

    const error = await upstreamErrorOf(sendLogin(http));

    expect(error.failure).toBe('unparsable');
    const capChunks = MAX_RESPONSE_BYTES / 1024;
    // Read one chunk past the cap, then cancelled: nowhere near the whole (endless) answer.
    expect(stats.pulled).toBeLessThanOrEqual(capChunks + 2);
    expect(stats.pulled).toBeGreaterThan(capChunks);
    expect(stats.cancelled).toBe(true);
  });

  it('an answer one byte over the cap is refused', async () => {
    const { http } = httpAnswering(async () => textResponse(' '.repeat(MAX_RESPONSE_BYTES - 2) + '{}' + ' '));

    expect((await upstreamErrorOf(sendLogin(http))).failure).toBe('unparsable');
  });
});

describe('WechatHttp.send: logging', () => {
  it('logs the failure with the log context, errcode and rid (never the raw code)', async () => {
    const { http } = httpAnswering(async () =>
      jsonResponse({ errcode: 40163, errmsg: `code been used, rid: ${RID}` }),
    );

    await upstreamErrorOf(sendLogin(http));

    expect(jest.mocked(Logger.prototype.warn)).toHaveBeenCalledWith(
      expect.objectContaining({
        api: 'jscode2session',
        appid: APP.appid,
        code: codeTag(CODE),
        failure: 'errcode',
        errcode: 40163,
        rid: RID,
      }),
      expect.any(String),
    );
  });

  it('logs the cause code of a network error, not its message', async () => {
    const { http } = httpAnswering(() => Promise.reject(networkError()));

    await upstreamErrorOf(sendLogin(http));

    expect(jest.mocked(Logger.prototype.warn)).toHaveBeenCalledWith(
      expect.objectContaining({ failure: 'network', error: 'ECONNREFUSED' }),
      expect.any(String),
    );
  });

  // Every outcome, including answers and errors that echo the inputs back.
  it.each<[string, () => Promise<HttpAnswer>]>([
    ['success', async () => jsonResponse({ openid: 'o1', session_key: SESSION_KEY, unionid: 'u1' })],
    [
      'errcode echoing the code',
      async () =>
        jsonResponse({ errcode: 40029, errmsg: `invalid code ${CODE} secret ${APP.secret}, rid: ${RID}` }),
    ],
    ['non-numeric errcode', async () => jsonResponse({ errcode: `bad ${CODE}`, errmsg: APP.secret })],
    ['HTTP 502 echoing the URL', async () => textResponse(`bad gateway ${APP.secret} ${CODE}`, 502)],
    ['non-JSON echoing the inputs', async () => textResponse(`<html>${APP.secret} ${CODE}</html>`)],
    [
      'an oversized answer echoing the inputs',
      async () => textResponse(`${APP.secret} ${CODE} `.repeat(1000)),
    ],
    ['network error naming the URL', () => Promise.reject(networkError())],
    [
      'timeout naming the URL',
      () =>
        Promise.reject(
          new DOMException(
            `timed out: ${API_BASE}/sns/jscode2session?secret=${APP.secret}&js_code=${CODE}`,
            'TimeoutError',
          ),
        ),
    ],
  ])(
    '%s: logs and error messages never contain the URL, the AppSecret, the code or the session_key',
    async (_label, answer) => {
      const { http, requestFn } = httpAnswering(answer);

      const outcome = await sendLogin(http).then(
        () => undefined,
        (e: unknown) => e,
      );

      const url = requestFn.mock.calls[0][0];
      const texts = [...loggedCalls(), outcome instanceof Error ? `${outcome.name} ${outcome.message}` : ''];
      for (const text of texts) {
        expect(text).not.toContain(url);
        expect(text).not.toContain('jscode2session?');
        expect(text).not.toContain(APP.secret);
        expect(text).not.toContain(CODE);
        expect(text).not.toContain(SESSION_KEY);
      }
    },
  );

  it('the secret-scan does see what is logged (guards against a vacuous pass)', async () => {
    const { http } = httpAnswering(async () => jsonResponse({ errcode: 40029, errmsg: `rid: ${RID}` }));

    await upstreamErrorOf(sendLogin(http));

    expect(loggedCalls().some((text) => text.includes(RID) && text.includes(APP.appid))).toBe(true);
  });
});
