import { Logger } from '@nestjs/common';
import type { AppConfig, WechatAppCredentials } from '../config/app-config';
import { codeTag, type FetchFn, WechatApiClient } from './wechat-api.client';
import { type UpstreamFailure, WechatUpstreamError } from './wechat-upstream.error';

const API_BASE = 'https://wx.test';
const APP: WechatAppCredentials = { appid: 'wxapp_one', secret: 'S3CRET-do-not-log-7d41' };
const CODE = 'LOGINCODE-do-not-log-9f2e';
// base64 of 'sessionKeyDoNotLog' (WeChat's session_key is standard base64 of 16 bytes).
const SESSION_KEY = 'c2Vzc2lvbktleURvTm90TG9n';
const RID = '6a1b2c3d-1234abcd-5678ef90';

const config = { wechat: { apiBase: API_BASE, timeoutMs: 3000 } } as unknown as AppConfig;

function textResponse(body: string, status = 200, contentType = 'text/plain'): Response {
  return new Response(body, { status, headers: { 'content-type': contentType } });
}

function jsonResponse(body: unknown, status = 200): Response {
  // WeChat often labels JSON as text/plain; the client must not care.
  return textResponse(JSON.stringify(body), status);
}

function clientAnswering(answer: () => Promise<Response>): {
  client: WechatApiClient;
  fetchFn: jest.Mock<Promise<Response>, Parameters<FetchFn>>;
} {
  const fetchFn = jest.fn<Promise<Response>, Parameters<FetchFn>>(answer);
  return { client: new WechatApiClient(config, fetchFn), fetchFn };
}

async function upstreamErrorOf(promise: Promise<unknown>): Promise<WechatUpstreamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WechatUpstreamError);
  return error as WechatUpstreamError;
}

function networkError(): TypeError {
  // undici's shape: TypeError('fetch failed') with the socket error as cause. Its text may name the URL.
  const cause = Object.assign(
    new Error(`connect ECONNREFUSED for ${API_BASE}/sns/jscode2session?secret=${APP.secret}`),
    {
      code: 'ECONNREFUSED',
    },
  );
  return new TypeError(`fetch failed: ${API_BASE}/sns/jscode2session?js_code=${CODE}`, { cause });
}

const LOG_METHODS = ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'] as const;

describe('WechatApiClient.code2Session', () => {
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

  describe('request', () => {
    it('GETs ${apiBase}/sns/jscode2session with appid, secret, js_code and grant_type', async () => {
      const { client, fetchFn } = clientAnswering(async () =>
        jsonResponse({ openid: 'o1', session_key: SESSION_KEY }),
      );

      await client.code2Session(APP, CODE);

      expect(fetchFn).toHaveBeenCalledTimes(1);
      const [input, init] = fetchFn.mock.calls[0];
      const url = new URL(input);
      expect(`${url.origin}${url.pathname}`).toBe(`${API_BASE}/sns/jscode2session`);
      expect(Object.fromEntries(url.searchParams)).toEqual({
        appid: APP.appid,
        secret: APP.secret,
        js_code: CODE,
        grant_type: 'authorization_code',
      });
      expect(init.method).toBe('GET');
      expect(init.signal).toBeInstanceOf(AbortSignal);
      expect(init.signal?.aborted).toBe(false);
    });

    it('URL-encodes the code rather than letting it alter the query', async () => {
      const { client, fetchFn } = clientAnswering(async () =>
        jsonResponse({ openid: 'o1', session_key: SESSION_KEY }),
      );

      await client.code2Session(APP, 'a&grant_type=x#y');

      const url = new URL(fetchFn.mock.calls[0][0]);
      expect(url.searchParams.get('js_code')).toBe('a&grant_type=x#y');
      expect(url.searchParams.getAll('grant_type')).toEqual(['authorization_code']);
    });
  });

  describe('success', () => {
    it('returns openid, sessionKey and unionid from a text/plain JSON answer', async () => {
      const { client } = clientAnswering(async () =>
        jsonResponse({ openid: 'o1', session_key: SESSION_KEY, unionid: 'u1' }),
      );

      await expect(client.code2Session(APP, CODE)).resolves.toEqual({
        openid: 'o1',
        sessionKey: SESSION_KEY,
        unionid: 'u1',
      });
    });

    it('has no unionid key when WeChat sends none (app not bound to Open Platform)', async () => {
      const { client } = clientAnswering(async () =>
        jsonResponse({ openid: 'o1', session_key: SESSION_KEY }),
      );

      const result = await client.code2Session(APP, CODE);

      expect(result).toEqual({ openid: 'o1', sessionKey: SESSION_KEY });
      expect(result).not.toHaveProperty('unionid');
    });

    it('drops an empty unionid', async () => {
      const { client } = clientAnswering(async () =>
        jsonResponse({ openid: 'o1', session_key: SESSION_KEY, unionid: '' }),
      );

      expect(await client.code2Session(APP, CODE)).not.toHaveProperty('unionid');
    });

    it('accepts errcode 0 as success', async () => {
      const { client } = clientAnswering(async () =>
        jsonResponse({ errcode: 0, errmsg: 'ok', openid: 'o1', session_key: SESSION_KEY }),
      );

      await expect(client.code2Session(APP, CODE)).resolves.toEqual({
        openid: 'o1',
        sessionKey: SESSION_KEY,
      });
    });

    it('parses JSON labelled application/json too', async () => {
      const { client } = clientAnswering(async () =>
        textResponse(JSON.stringify({ openid: 'o1', session_key: SESSION_KEY }), 200, 'application/json'),
      );

      await expect(client.code2Session(APP, CODE)).resolves.toMatchObject({ openid: 'o1' });
    });
  });

  describe('failures', () => {
    it('errcode answer (HTTP 200) → errcode failure with the errcode and the rid from errmsg', async () => {
      const { client } = clientAnswering(async () =>
        jsonResponse({ errcode: 40029, errmsg: `invalid code, rid: ${RID}` }),
      );

      const error = await upstreamErrorOf(client.code2Session(APP, CODE));

      expect(error.failure).toBe('errcode');
      expect(error.details).toEqual({ errcode: 40029, rid: RID });
    });

    it('errcode answer without a rid → rid undefined', async () => {
      const { client } = clientAnswering(async () => jsonResponse({ errcode: -1, errmsg: 'system error' }));

      const error = await upstreamErrorOf(client.code2Session(APP, CODE));

      expect(error.failure).toBe('errcode');
      expect(error.details.errcode).toBe(-1);
      expect(error.details.rid).toBeUndefined();
    });

    it('numeric-string errcode is read as a number', async () => {
      const { client } = clientAnswering(async () =>
        jsonResponse({ errcode: '45011', errmsg: `rid: ${RID}` }),
      );

      const error = await upstreamErrorOf(client.code2Session(APP, CODE));

      expect(error.failure).toBe('errcode');
      expect(error.details).toEqual({ errcode: 45011, rid: RID });
    });

    it('non-numeric errcode → unparsable', async () => {
      const { client } = clientAnswering(async () => jsonResponse({ errcode: 'oops', errmsg: 'x' }));

      expect((await upstreamErrorOf(client.code2Session(APP, CODE))).failure).toBe('unparsable');
    });

    it.each([500, 502, 503, 404])('HTTP %i → http failure with the status', async (status) => {
      const { client } = clientAnswering(async () =>
        textResponse('<html>Bad Gateway</html>', status, 'text/html'),
      );

      const error = await upstreamErrorOf(client.code2Session(APP, CODE));

      expect(error.failure).toBe('http');
      expect(error.details).toEqual({ httpStatus: status });
    });

    it('HTTP 5xx wins over a JSON body that looks like success', async () => {
      const { client } = clientAnswering(async () =>
        jsonResponse({ openid: 'o1', session_key: SESSION_KEY }, 503),
      );

      expect((await upstreamErrorOf(client.code2Session(APP, CODE))).failure).toBe('http');
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
      const { client } = clientAnswering(async () => textResponse(body));

      const error = await upstreamErrorOf(client.code2Session(APP, CODE));

      expect(error.failure).toBe('unparsable');
      expect(error.details).toEqual({});
    });

    it.each<[string, Record<string, unknown>]>([
      ['openid missing', { session_key: SESSION_KEY }],
      ['session_key missing', { openid: 'o1' }],
      ['both missing', {}],
      ['openid empty', { openid: '', session_key: SESSION_KEY }],
      ['session_key empty', { openid: 'o1', session_key: '' }],
      ['openid not a string', { openid: 123, session_key: SESSION_KEY }],
      ['session_key not a string', { openid: 'o1', session_key: { k: 1 } }],
      // Too long for the columns, or not the shape WeChat uses: an upstream fault, never a database 500.
      ['openid over 128 chars', { openid: 'o'.repeat(129), session_key: SESSION_KEY }],
      ['openid with odd characters', { openid: "o1'; DROP", session_key: SESSION_KEY }],
      ['unionid over 128 chars', { openid: 'o1', session_key: SESSION_KEY, unionid: 'u'.repeat(300) }],
      ['unionid not a string', { openid: 'o1', session_key: SESSION_KEY, unionid: 42 }],
      ['session_key over 64 chars', { openid: 'o1', session_key: 'A'.repeat(400) }],
      ['session_key not base64', { openid: 'o1', session_key: 'not base64 at all!' }],
    ])('%s → unparsable', async (_label, body) => {
      const { client } = clientAnswering(async () => jsonResponse(body));

      expect((await upstreamErrorOf(client.code2Session(APP, CODE))).failure).toBe('unparsable');
    });

    // maybeDelivered: whether the code may have reached WeChat (and been spent) although no answer came back.
    it.each<[string, () => Error, UpstreamFailure, boolean]>([
      [
        'TimeoutError (AbortSignal.timeout)',
        () => new DOMException('The operation timed out.', 'TimeoutError'),
        'timeout',
        true,
      ],
      ['AbortError', () => new DOMException('This operation was aborted', 'AbortError'), 'timeout', true],
      ['TypeError with ECONNREFUSED cause', networkError, 'network', false],
      ['plain TypeError', () => new TypeError('fetch failed'), 'network', true],
    ])('fetch throwing %s → %s failure', async (_label, makeError, failure, maybeDelivered) => {
      const { client } = clientAnswering(() => Promise.reject(makeError()));

      const error = await upstreamErrorOf(client.code2Session(APP, CODE));

      expect(error.failure).toBe(failure);
      expect(error.details).toEqual({ maybeDelivered });
    });

    it('a timeout while reading the body → timeout failure', async () => {
      const response = textResponse('{}');
      jest
        .spyOn(response, 'text')
        .mockRejectedValue(new DOMException('The operation timed out.', 'TimeoutError'));
      const { client } = clientAnswering(async () => response);

      expect((await upstreamErrorOf(client.code2Session(APP, CODE))).failure).toBe('timeout');
    });
  });

  describe('logging', () => {
    it('logs the failure with appid, errcode and rid (never the raw code)', async () => {
      const { client } = clientAnswering(async () =>
        jsonResponse({ errcode: 40163, errmsg: `code been used, rid: ${RID}` }),
      );

      await upstreamErrorOf(client.code2Session(APP, CODE));

      const warn = jest.mocked(Logger.prototype.warn);
      expect(warn).toHaveBeenCalledWith(
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
      const { client } = clientAnswering(() => Promise.reject(networkError()));

      await upstreamErrorOf(client.code2Session(APP, CODE));

      expect(jest.mocked(Logger.prototype.warn)).toHaveBeenCalledWith(
        expect.objectContaining({ failure: 'network', error: 'ECONNREFUSED' }),
        expect.any(String),
      );
    });

    // Every outcome, including answers and errors that echo the inputs back.
    it.each<[string, () => Promise<Response>]>([
      ['success', async () => jsonResponse({ openid: 'o1', session_key: SESSION_KEY, unionid: 'u1' })],
      [
        'errcode echoing the code',
        async () =>
          jsonResponse({ errcode: 40029, errmsg: `invalid code ${CODE} secret ${APP.secret}, rid: ${RID}` }),
      ],
      ['non-numeric errcode', async () => jsonResponse({ errcode: `bad ${CODE}`, errmsg: APP.secret })],
      ['HTTP 502 echoing the URL', async () => textResponse(`bad gateway ${APP.secret} ${CODE}`, 502)],
      ['non-JSON echoing the inputs', async () => textResponse(`<html>${APP.secret} ${CODE}</html>`)],
      ['missing openid with a session_key', async () => jsonResponse({ session_key: SESSION_KEY })],
      ['missing session_key', async () => jsonResponse({ openid: 'o1', errmsg: SESSION_KEY })],
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
      '%s: logs and error messages never contain the AppSecret, the code or the session_key',
      async (_label, answer) => {
        const { client } = clientAnswering(answer);

        const outcome = await client.code2Session(APP, CODE).then(
          () => undefined,
          (e: unknown) => e,
        );

        const texts = [
          ...loggedCalls(),
          outcome instanceof Error ? `${outcome.name} ${outcome.message}` : '',
        ];
        for (const text of texts) {
          expect(text).not.toContain(APP.secret);
          expect(text).not.toContain(CODE);
          expect(text).not.toContain(SESSION_KEY);
        }
      },
    );

    it('the secret-scan does see what is logged (guards against a vacuous pass)', async () => {
      const { client } = clientAnswering(async () => jsonResponse({ errcode: 40029, errmsg: `rid: ${RID}` }));

      await upstreamErrorOf(client.code2Session(APP, CODE));

      expect(loggedCalls().some((text) => text.includes(RID) && text.includes(APP.appid))).toBe(true);
    });
  });
});
