import { request as httpRequest } from 'node:http';
import type { WxLike, WxLoginOptions, WxRequestOptions } from '../../sdk/miniprogram/src';

/** One wx.request the stand-in sent, and what came back (status 0: no HTTP answer). */
export interface SentRequest {
  method: string;
  path: string;
  /** The Authorization header as sent. */
  authorization?: string;
  status: number;
  /** The service's error `code`, if any. */
  code?: string;
}

/**
 * The mini-program runtime's `wx`, in Node, as far as the SDK uses it: callback-style `login` (the code comes
 * from the tests' fake WeChat, like wx.login's comes from WeChat) and `request` (a real HTTP request to the
 * service; `success` for every HTTP answer, 4xx/5xx included, `fail` only without one), and synchronous
 * storage that keeps a serialized copy, like wx's. Counts everything so tests can assert how often the SDK
 * called wx.login and which requests it sent.
 */
export class StandInWx implements WxLike {
  readonly storage = new Map<string, string>();
  readonly sent: SentRequest[] = [];
  readonly codes: string[] = [];
  loginCalls = 0;
  /** Runs on each code wx.login hands out (to script WeChat's answer for it). */
  readonly onCode: ((code: string) => void)[] = [];
  /** Lets a test change a request just before it leaves (e.g. spoil its token). */
  beforeSend?: (options: { method: string; path: string; header: Record<string, string> }) => void;
  /** Lets a test hold an answer back (the promise's settling releases it), e.g. to make a 401 arrive late. */
  holdAnswer?: (request: SentRequest) => Promise<unknown> | undefined;

  constructor(private readonly mint: () => string) {}

  login(options: WxLoginOptions): void {
    this.loginCalls++;
    setImmediate(() => {
      let code: string;
      try {
        code = this.mint();
      } catch (e) {
        options.fail?.({ errMsg: `login:fail ${String(e)}` });
        return;
      }
      this.codes.push(code);
      this.onCode.shift()?.(code);
      options.success?.({ code });
    });
  }

  request(options: WxRequestOptions): { abort(): void } {
    const method = (options.method ?? 'GET').toUpperCase();
    const url = new URL(options.url);
    const header: Record<string, string> = { ...(options.header ?? {}) };
    let body: string | undefined;
    if (options.data !== undefined) {
      if (method === 'GET' && typeof options.data === 'object') {
        for (const [k, v] of Object.entries(options.data)) url.searchParams.set(k, String(v));
      } else {
        body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data);
      }
    }
    // wx.request's default content type.
    if (!Object.keys(header).some((k) => k.toLowerCase() === 'content-type'))
      header['content-type'] = 'application/json';
    this.beforeSend?.({ method, path: url.pathname, header });
    const record: SentRequest = {
      method,
      path: url.pathname,
      authorization: header.Authorization,
      status: 0,
    };
    this.sent.push(record);

    const req = httpRequest(
      url,
      {
        method,
        headers: { ...header, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let data: unknown = text;
          if (options.dataType === undefined || options.dataType === 'json') {
            try {
              data = JSON.parse(text);
            } catch {
              data = text; // wx hands over the text when it is not JSON
            }
          }
          record.status = res.statusCode ?? 0;
          if (data && typeof data === 'object' && typeof (data as { code?: unknown }).code === 'string')
            record.code = (data as { code: string }).code;
          const answer = () =>
            options.success?.({
              statusCode: res.statusCode ?? 0,
              data,
              header: res.headers as Record<string, unknown>,
            });
          const hold = this.holdAnswer?.(record);
          if (hold) void hold.then(answer, answer);
          else answer();
        });
      },
    );
    req.on('error', (e) => options.fail?.({ errMsg: `request:fail ${e.message}` }));
    if (options.timeout) req.setTimeout(options.timeout, () => req.destroy(new Error('timeout')));
    req.end(body);
    return { abort: () => req.destroy(new Error('abort')) };
  }

  getStorageSync(key: string): unknown {
    // wx answers '' for a missing key, and a copy (values are serialized) for a present one.
    const v = this.storage.get(key);
    return v === undefined ? '' : JSON.parse(v);
  }

  setStorageSync(key: string, data: unknown): void {
    this.storage.set(key, JSON.stringify(data));
  }

  removeStorageSync(key: string): void {
    this.storage.delete(key);
  }

  /** Requests sent to this path (optionally: with this answer status). */
  count(path: string, status?: number): number {
    return this.sent.filter((r) => r.path === path && (status === undefined || r.status === status)).length;
  }
}
