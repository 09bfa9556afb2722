import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig, type WechatAppCredentials } from '../../config/app-config';
import { WechatUpstreamError } from './wechat-upstream.error';

/** What one HTTP exchange answers, as undici's `request` gives it: the body streamed, read here within a cap. */
export interface HttpAnswer {
  statusCode: number;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array> & {
    destroy(error?: Error): unknown;
    on(event: 'error', listener: (error: Error) => void): unknown;
  };
}

export interface HttpRequestInit {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

/**
 * One HTTP exchange on the WeChat socket pool (undici's `request`: no WHATWG Request/Response/streams, about a
 * quarter of `fetch`'s CPU per call here), injectable so unit tests answer without a network.
 */
export type HttpRequestFn = (url: string, init: HttpRequestInit) => Promise<HttpAnswer>;
export const HTTP_REQUEST = Symbol('HTTP_REQUEST');

/**
 * WeChat's answers are a few hundred bytes. Anything bigger is not WeChat talking: reading it whole
 * let a 256 MB answer take the process to 940 MB RSS with 16 calls in flight.
 */
export const MAX_RESPONSE_BYTES = 8 * 1024;

/** One request to WeChat. `query` and `json` may carry the AppSecret or the access_token: never logged. */
export interface WechatRequest {
  method: 'GET' | 'POST';
  /** Case-sensitive, e.g. `/sns/jscode2session`. */
  path: string;
  query?: Record<string, string>;
  json?: Record<string, unknown>;
}

/** A `POST path?access_token=…` with a JSON body, as every endpoint called with the interface token takes it. */
export function tokenPost(
  path: string,
  accessToken: string | undefined,
  json: Record<string, unknown>,
): WechatRequest {
  return { method: 'POST', path, query: { access_token: accessToken ?? '' }, json };
}

/** A `GET path` trading a user's one-time code (named as the endpoint names it) with the app's credentials. */
export function codeExchange(
  path: string,
  app: WechatAppCredentials,
  code: Record<string, string>,
): WechatRequest {
  return {
    method: 'GET',
    path,
    query: { appid: app.appid, secret: app.secret, ...code, grant_type: 'authorization_code' },
  };
}

/** What may be logged about a call: the endpoint, the appid and tags that identify it without secrets. */
export type LogContext = Record<string, string | undefined>;

const RID = /rid:\s*([0-9a-zA-Z-]{6,64})/;
/** Failures before the request left: it certainly did not reach WeChat. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * The only place that speaks HTTP to WeChat: one call, no retries, GET or POST JSON, a timeout, a cap on
 * the answer's size, and the body checked to be a JSON object. Failures come out as WechatUpstreamError
 * (with WeChat's `rid` when it sent one); deciding what they mean is the endpoint adapter's job. URLs are
 * never logged (the AppSecret and the access_token travel in the query string).
 */
@Injectable()
export class WechatHttp {
  private readonly logger = new Logger('WechatHttp');

  constructor(
    private readonly config: AppConfig,
    @Inject(HTTP_REQUEST) private readonly requestFn: HttpRequestFn,
  ) {}

  async send(request: WechatRequest, log: LogContext, timeoutMs: number): Promise<Record<string, unknown>> {
    const query = request.query ? `?${new URLSearchParams(request.query)}` : '';
    const url = `${this.config.wechat.apiBase}${request.path}${query}`;
    let answer: HttpAnswer;
    let text: string;
    try {
      answer = await this.requestFn(url, {
        method: request.method,
        headers:
          request.method === 'POST'
            ? { accept: 'application/json', 'content-type': 'application/json' }
            : { accept: 'application/json' },
        body: request.method === 'POST' ? JSON.stringify(request.json ?? {}) : undefined,
        signal: AbortSignal.timeout(Math.max(1, timeoutMs)),
      });
      text = await readCapped(answer);
    } catch (e) {
      if (e instanceof TooLarge) {
        this.logger.warn({ ...log, failure: 'unparsable', tooLarge: true }, 'wechat answer too large');
        throw new WechatUpstreamError('unparsable');
      }
      const failure = isTimeout(e) ? 'timeout' : 'network';
      const kind = errorKind(e);
      this.logger.warn({ ...log, failure, error: kind }, 'wechat call failed');
      throw new WechatUpstreamError(failure, {
        maybeDelivered: failure === 'timeout' || !NOT_SENT.has(kind),
      });
    }
    const status = answer.statusCode;
    if (status < 200 || status > 299) {
      this.logger.warn({ ...log, failure: 'http', httpStatus: status }, 'wechat call failed');
      throw new WechatUpstreamError('http', { httpStatus: status });
    }
    let body: unknown;
    try {
      // WeChat often labels JSON as text/plain: parse whatever the content type says.
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      this.logger.warn(
        { ...log, failure: 'unparsable', httpStatus: status },
        'wechat answer is not a JSON object',
      );
      throw new WechatUpstreamError('unparsable');
    }
    const record = body as Record<string, unknown>;
    const errcode = record.errcode;
    if (errcode !== undefined && errcode !== 0 && errcode !== '0') {
      const rid = typeof record.errmsg === 'string' ? RID.exec(record.errmsg)?.[1] : undefined;
      const numeric =
        typeof errcode === 'number' ? errcode : /^-?\d+$/.test(String(errcode)) ? Number(errcode) : NaN;
      this.logger.warn({ ...log, failure: 'errcode', errcode: numeric, rid }, 'wechat answered an error');
      if (!Number.isInteger(numeric)) throw new WechatUpstreamError('unparsable');
      throw new WechatUpstreamError('errcode', { errcode: numeric, rid });
    }
    return record;
  }
}

class TooLarge extends Error {}

/** The body as text, refusing (and abandoning) anything over MAX_RESPONSE_BYTES. */
async function readCapped(answer: HttpAnswer): Promise<string> {
  const length = answer.headers['content-length'];
  if (Number(Array.isArray(length) ? length[0] : (length ?? NaN)) > MAX_RESPONSE_BYTES) {
    abandon(answer.body);
    throw new TooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of answer.body) {
    size += chunk.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      abandon(answer.body);
      throw new TooLarge();
    }
    chunks.push(chunk);
  }
  // Decoded whole: a UTF-8 character split across chunks comes out right.
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Stops reading an answer and frees its socket. undici's body emits an 'error' when destroyed (its
 * RequestAbortedError): it gets a listener first, or it would be an uncaught exception and end the process.
 */
function abandon(body: HttpAnswer['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function isTimeout(e: unknown): boolean {
  const name = (e as { name?: unknown })?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/** The socket error's code (undici's own errors carry it; a wrapped one in `cause`), else the error's name. */
function errorKind(e: unknown): string {
  const own = (e as { code?: unknown })?.code;
  if (typeof own === 'string') return own;
  const cause = (e as { cause?: { code?: unknown } })?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  return (e as { name?: string })?.name ?? 'Error';
}
