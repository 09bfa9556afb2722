import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig, type WechatAppCredentials } from '../config/app-config';
import { WechatUpstreamError } from './wechat-upstream.error';

/** `fetch`, injectable so unit tests answer without a network. */
export const FETCH = Symbol('FETCH');
export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

export interface Code2SessionResult {
  openid: string;
  sessionKey: string;
  unionid?: string;
}

const RID = /rid:\s*([0-9a-zA-Z-]{6,64})/;
/** openid/unionid: 28-char base64url-ish ids in practice; the columns hold 128. */
const WECHAT_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** session_key: base64 of 16 bytes (24 chars); some slack, within the encrypted column's room. */
const SESSION_KEY = /^[A-Za-z0-9+/=]{16,64}$/;
/** Failures before the request left: the code certainly did not reach WeChat. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** A short, non-reversible tag for a login code, for correlating logs without logging the code. */
export function codeTag(code: string): string {
  return createHash('sha256').update(code).digest('hex').slice(0, 12);
}

/**
 * The only place that speaks HTTP to WeChat. It reports failures as
 * WechatUpstreamError; deciding what they mean is the caller's job.
 * The AppSecret travels in the query string, so URLs are never logged.
 */
@Injectable()
export class WechatApiClient {
  private readonly logger = new Logger(WechatApiClient.name);

  constructor(
    private readonly config: AppConfig,
    @Inject(FETCH) private readonly fetchFn: FetchFn,
  ) {}

  /** One call, no retries; `timeoutMs` defaults to WECHAT_TIMEOUT_MS. */
  async code2Session(
    app: WechatAppCredentials,
    code: string,
    opts: { timeoutMs?: number } = {},
  ): Promise<Code2SessionResult> {
    const query = new URLSearchParams({
      appid: app.appid,
      secret: app.secret,
      js_code: code,
      grant_type: 'authorization_code',
    });
    const body = await this.getJson(
      `${this.config.wechat.apiBase}/sns/jscode2session?${query}`,
      { api: 'jscode2session', appid: app.appid, code: codeTag(code) },
      opts.timeoutMs ?? this.config.wechat.timeoutMs,
    );
    const { openid, session_key: sessionKey, unionid } = body;
    // Shape-checked before anything is stored: an odd answer is an upstream fault (503), not a 500 from the database.
    const unionidOk =
      unionid === undefined || unionid === '' || (typeof unionid === 'string' && WECHAT_ID.test(unionid));
    if (
      typeof openid !== 'string' ||
      !WECHAT_ID.test(openid) ||
      typeof sessionKey !== 'string' ||
      !SESSION_KEY.test(sessionKey) ||
      !unionidOk
    ) {
      this.logger.warn(
        { api: 'jscode2session', appid: app.appid, failure: 'unparsable' },
        'wechat answer lacks a well-formed openid/session_key/unionid',
      );
      throw new WechatUpstreamError('unparsable');
    }
    return { openid, sessionKey, ...(typeof unionid === 'string' && unionid ? { unionid } : {}) };
  }

  private async getJson(
    url: string,
    logContext: Record<string, string>,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    let response: Response;
    let text: string;
    try {
      response = await this.fetchFn(url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(Math.max(1, timeoutMs)),
      });
      text = await response.text();
    } catch (e) {
      const failure = isTimeout(e) ? 'timeout' : 'network';
      const kind = errorKind(e);
      // Only the error's name/code: a fetch error's message or cause can contain the URL.
      this.logger.warn({ ...logContext, failure, error: kind }, 'wechat call failed');
      throw new WechatUpstreamError(failure, {
        maybeDelivered: failure === 'timeout' || !NOT_SENT.has(kind),
      });
    }
    if (!response.ok) {
      this.logger.warn({ ...logContext, failure: 'http', httpStatus: response.status }, 'wechat call failed');
      throw new WechatUpstreamError('http', { httpStatus: response.status });
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
        { ...logContext, failure: 'unparsable', httpStatus: response.status },
        'wechat answer is not a JSON object',
      );
      throw new WechatUpstreamError('unparsable');
    }
    const record = body as Record<string, unknown>;
    const errcode = record.errcode;
    if (errcode !== undefined && errcode !== 0) {
      const rid = typeof record.errmsg === 'string' ? RID.exec(record.errmsg)?.[1] : undefined;
      const numeric = typeof errcode === 'number' ? errcode : Number(errcode);
      this.logger.warn(
        { ...logContext, failure: 'errcode', errcode: numeric, rid },
        'wechat answered an error',
      );
      if (!Number.isFinite(numeric)) throw new WechatUpstreamError('unparsable');
      throw new WechatUpstreamError('errcode', { errcode: numeric, rid });
    }
    return record;
  }
}

function isTimeout(e: unknown): boolean {
  const name = (e as { name?: unknown })?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function errorKind(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown } })?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  return (e as { name?: string })?.name ?? 'Error';
}
