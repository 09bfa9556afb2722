import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Clock } from '../../src/common/clock/clock';
import { SystemClock } from '../../src/common/clock/system-clock';
import { Random } from '../../src/common/random/random';
import { MemoryKvStore } from '../../src/common/store/memory-kv-store';
import {
  SandboxWechat,
  type IssuedSecret,
  type MintedPhoneCode,
  type OpenData,
  type RiskChoice,
  type SandboxMediaCheck,
} from '../../src/wechat-auth/sandbox/sandbox-wechat';
import { issuedSecrets } from './leak-check';

/** What the fake does for one call: WeChat's JSON, or a transport-level fault. */
export type FakeAnswer =
  | { kind: 'json'; body: unknown; status?: number }
  | { kind: 'raw'; body: string; status?: number; contentType?: string }
  | { kind: 'hang' } // never answers (until the server closes)
  | { kind: 'slow'; ms: number; then: FakeAnswer }
  | { kind: 'reset' }; // drops the connection without a response

/** One request WeChat received; `body` is the parsed JSON of a POST (the raw text when it is not JSON). */
export interface FakeCall {
  method: string;
  path: string;
  query: URLSearchParams;
  body?: unknown;
}

/**
 * WeChat for the e2e tests, on loopback: the built-in sandbox (SandboxWechat,
 * the one implementation of WeChat's behaviour) behind a node:http server,
 * with scripted faults in front of it and every call recorded so tests can
 * count upstream requests.
 */
export class FakeWechat {
  readonly calls: FakeCall[] = [];
  /** Every session_key, login code, phone code, access_token and phone number handed out, so tests can prove none leaks. */
  readonly sessionKeys: string[] = [];
  readonly mintedCodes: string[] = [];
  readonly phoneCodes: string[] = [];
  readonly accessTokens: string[] = [];
  /** Pure numbers (no country code). */
  readonly phoneNumbers: string[] = [];
  /**
   * Every image check media_check_async accepted, with the verdict WeChat would push: tests deliver it
   * (signed) when they choose, so a push can be made to arrive before, after or instead of anything.
   */
  readonly mediaChecks: SandboxMediaCheck[] = [];
  /** WeChat itself, for what the HTTP surface does not cover. */
  readonly sandbox: SandboxWechat;
  private readonly byCode = new Map<string, FakeAnswer[]>();
  private readonly byPath = new Map<string, FakeAnswer[]>();
  /** Mobile-app authorization codes (mintAppCode): who each is for, and whether WeChat has used it. */
  private readonly appCodes = new Map<
    string,
    { appid: string; openid: string; unionid?: string; used: boolean }
  >();
  private readonly minting = new Set<Promise<unknown>>();
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  baseUrl = '';

  /** `clock` lets a test move WeChat's time (token expiry, code expiry); default: real time. */
  constructor(
    readonly apps: Record<string, string>,
    opts: { clock?: Clock } = {},
  ) {
    const clock = opts.clock ?? new SystemClock();
    this.sandbox = new SandboxWechat(
      new Map(Object.entries(apps)),
      new MemoryKvStore(clock),
      new Random(),
      clock,
      {
        onIssued: (secret) => this.record(secret),
        onMediaCheck: (check) => void this.mediaChecks.push(check),
      },
    );
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * Like wx.login(): a fresh code for this WeChat user (and, unless
   * `keepSessionKey`, a new session_key). Synchronous for the tests' sake: the
   * code is chosen here and the sandbox's write is awaited before the next call is answered.
   */
  mint(
    user: { openid?: string; unionid?: string; appid?: string; keepSessionKey?: boolean } & RiskChoice = {},
  ): string {
    const code = randomBytes(16).toString('hex');
    const minting = this.sandbox.mintLoginCode({ ...user, code });
    this.minting.add(minting);
    void minting.then(
      () => this.minting.delete(minting),
      () => undefined, // surfaced by settle() on the next call
    );
    return code;
  }

  /**
   * Like the WeChat SDK's SendAuth in a mobile app: a single-use code for `/sns/oauth2/access_token` of an
   * app appid. Answered by the fake itself (WeChat's fields: access_token, expires_in, refresh_token, openid,
   * scope, unionid; 40029 for an unknown code, 40163 for a used one), whatever the sandbox serves there.
   */
  mintAppCode(user: { appid: string; openid: string; unionid?: string }): string {
    const code = `app${randomBytes(16).toString('hex')}`;
    this.appCodes.set(code, { ...user, used: false });
    this.mintedCodes.push(code);
    issuedSecrets.codes.push(code);
    return code;
  }

  /** Like tapping the getPhoneNumber button: a single-use phone code for this user. */
  async mintPhoneCode(input: {
    openid: string;
    appid?: string;
    phoneNumber?: string;
    countryCode?: string;
  }): Promise<string> {
    const minted: MintedPhoneCode = await this.sandbox.mintPhoneCode(input);
    return minted.code;
  }

  /** Legacy open data (encryptedData/iv/rawData/signature) under the user's current session_key. */
  async mintOpenData(input: Parameters<SandboxWechat['mintOpenData']>[0]): Promise<OpenData> {
    // Right after mint() the new session_key may still be being written: encrypt with that one.
    await this.settle();
    return this.sandbox.mintOpenData(input);
  }

  async currentSessionKey(appid: string, openid: string): Promise<string | undefined> {
    await this.settle();
    return this.sandbox.currentSessionKey(appid, openid);
  }

  /** Makes `token` the app's current interface token, as if stable_token had issued it. */
  async useAccessToken(appid: string, token: string, expiresIn?: number): Promise<void> {
    await this.sandbox.issueAccessToken(appid, { token, expiresIn });
  }

  /** The next calls carrying this login code (as js_code) get these answers, in order, instead of WeChat's. */
  script(code: string, ...answers: FakeAnswer[]): void {
    this.byCode.set(code, [...(this.byCode.get(code) ?? []), ...answers]);
  }

  /** The next calls to this WeChat path (e.g. `/cgi-bin/stable_token`) get these answers, in order. */
  scriptPath(path: string, ...answers: FakeAnswer[]): void {
    this.byPath.set(path, [...(this.byPath.get(path) ?? []), ...answers]);
  }

  callsFor(code: string): number {
    return this.calls.filter((c) => (c.query.get('js_code') ?? c.query.get('code')) === code).length;
  }

  callsTo(path: string): FakeCall[] {
    return this.calls.filter((c) => c.path === path);
  }

  /** WeChat's `/sns/oauth2/access_token` for a mobile app's code. */
  private appAccessToken(
    q: URLSearchParams,
    grant: { appid: string; openid: string; unionid?: string; used: boolean },
  ): Record<string, unknown> {
    const appid = q.get('appid') ?? '';
    if (this.apps[appid] === undefined) return { errcode: 40013, errmsg: 'invalid appid' };
    if (q.get('secret') !== this.apps[appid]) return { errcode: 40125, errmsg: 'invalid appsecret' };
    if (q.get('grant_type') !== 'authorization_code') return { errcode: 40002, errmsg: 'invalid grant_type' };
    if (grant.appid !== appid) return { errcode: 40029, errmsg: 'invalid code' };
    if (grant.used) return { errcode: 40163, errmsg: 'code been used' };
    grant.used = true;
    const accessToken = randomBytes(24).toString('base64url');
    this.record({ kind: 'accessToken', value: accessToken });
    return {
      access_token: accessToken,
      expires_in: 7200,
      refresh_token: randomBytes(24).toString('base64url'),
      openid: grant.openid,
      scope: 'snsapi_userinfo',
      ...(grant.unionid ? { unionid: grant.unionid } : {}),
    };
  }

  private record({ kind, value }: IssuedSecret): void {
    const lists: Record<IssuedSecret['kind'], string[][]> = {
      loginCode: [this.mintedCodes, issuedSecrets.codes],
      phoneCode: [this.phoneCodes, issuedSecrets.phoneCodes],
      sessionKey: [this.sessionKeys, issuedSecrets.sessionKeys],
      accessToken: [this.accessTokens, issuedSecrets.accessTokens],
      phoneNumber: [this.phoneNumbers, issuedSecrets.phoneNumbers],
    };
    for (const list of lists[kind]) list.push(value);
  }

  /** Waits for mints still being written, so a code handed out is always known to WeChat. */
  private async settle(): Promise<void> {
    await Promise.all([...this.minting]);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = req.method ?? 'GET';
      const text = await readBody(req);
      const call: FakeCall = { method, path: url.pathname, query: url.searchParams };
      if (text !== '') call.body = parseJson(text);
      this.calls.push(call);

      const code = url.searchParams.get('js_code') ?? url.searchParams.get('code');
      const scripted =
        (code !== null ? this.byCode.get(code)?.shift() : undefined) ??
        this.byPath.get(url.pathname)?.shift();
      if (scripted) return await this.answer(res, scripted);

      const appCode =
        code !== null && url.pathname === '/sns/oauth2/access_token' ? this.appCodes.get(code) : undefined;
      if (appCode)
        return this.answer(res, { kind: 'json', body: this.appAccessToken(url.searchParams, appCode) });

      await this.settle();
      const out = await this.sandbox.handle({
        method,
        path: url.pathname,
        query: url.searchParams,
        body: call.body,
      });
      // WeChat labels its JSON text/plain; clients must parse it anyway.
      res.writeHead(out.status, { 'content-type': 'text/plain' }).end(JSON.stringify(out.body));
    } catch (err) {
      if (!res.headersSent)
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`fake wechat failed: ${String(err)}`);
    }
  }

  private async answer(res: ServerResponse, a: FakeAnswer): Promise<void> {
    switch (a.kind) {
      case 'json':
        res.writeHead(a.status ?? 200, { 'content-type': 'text/plain' }).end(JSON.stringify(a.body));
        return;
      case 'raw':
        res.writeHead(a.status ?? 200, { 'content-type': a.contentType ?? 'text/html' }).end(a.body);
        return;
      case 'hang':
        return;
      case 'slow':
        await new Promise((r) => setTimeout(r, a.ms));
        return this.answer(res, a.then);
      case 'reset':
        res.socket?.destroy();
        return;
    }
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
