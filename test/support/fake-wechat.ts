import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { issuedSecrets } from './leak-check';

/** What the fake does for one call: WeChat's JSON, or a transport-level fault. */
export type FakeAnswer =
  | { kind: 'json'; body: unknown; status?: number }
  | { kind: 'raw'; body: string; status?: number; contentType?: string }
  | { kind: 'hang' } // never answers (until the server closes)
  | { kind: 'slow'; ms: number; then: FakeAnswer }
  | { kind: 'reset' }; // drops the connection without a response

interface Minted {
  appid: string;
  openid: string;
  unionid?: string;
  used: boolean;
}

/**
 * A fake WeChat for the tests, on loopback: single-use codes with WeChat's
 * errcodes, plus scripted faults. It records every call so tests can count
 * upstream requests.
 */
export class FakeWechat {
  readonly calls: { path: string; query: URLSearchParams }[] = [];
  /** Every session_key handed out and every code minted, so tests can prove none leaks. */
  readonly sessionKeys: string[] = [];
  readonly mintedCodes: string[] = [];
  private readonly codes = new Map<string, Minted>();
  private readonly scripted = new Map<string, FakeAnswer[]>();
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  baseUrl = '';

  constructor(readonly apps: Record<string, string>) {}

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

  /** Like wx.login(): a fresh code for this WeChat user. */
  mint(user: { openid?: string; unionid?: string; appid?: string } = {}): string {
    const code = randomBytes(16).toString('hex');
    this.mintedCodes.push(code);
    issuedSecrets.codes.push(code);
    this.codes.set(code, {
      appid: user.appid ?? Object.keys(this.apps)[0],
      openid: user.openid ?? `o${randomBytes(12).toString('hex')}`,
      unionid: user.unionid,
      used: false,
    });
    return code;
  }

  /** The next calls carrying this code get these answers, in order, instead of the normal one. */
  script(code: string, ...answers: FakeAnswer[]): void {
    this.scripted.set(code, [...(this.scripted.get(code) ?? []), ...answers]);
  }

  callsFor(code: string): number {
    return this.calls.filter((c) => c.query.get('js_code') === code).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.calls.push({ path: url.pathname, query: url.searchParams });
    if (url.pathname !== '/sns/jscode2session')
      return this.answer(res, { kind: 'json', body: { errcode: 40066, errmsg: 'invalid url' } });
    const code = url.searchParams.get('js_code') ?? '';
    const scripted = this.scripted.get(code)?.shift();
    await this.answer(res, scripted ?? this.exchange(url.searchParams));
  }

  private exchange(q: URLSearchParams): FakeAnswer {
    const err = (errcode: number, errmsg: string): FakeAnswer => ({
      kind: 'json',
      body: { errcode, errmsg: `${errmsg}, rid: ${randomBytes(4).toString('hex')}-fake` },
    });
    const appid = q.get('appid') ?? '';
    if (!(appid in this.apps)) return err(40013, 'invalid appid');
    if (this.apps[appid] !== q.get('secret')) return err(40125, 'invalid appsecret');
    const minted = this.codes.get(q.get('js_code') ?? '');
    if (!minted || minted.appid !== appid || q.get('grant_type') !== 'authorization_code')
      return err(40029, 'invalid code');
    if (minted.used) return err(40163, 'code been used');
    minted.used = true;
    const sessionKey = randomBytes(16).toString('base64');
    this.sessionKeys.push(sessionKey);
    issuedSecrets.sessionKeys.push(sessionKey);
    return {
      kind: 'raw',
      contentType: 'text/plain',
      body: JSON.stringify({
        openid: minted.openid,
        session_key: sessionKey,
        ...(minted.unionid ? { unionid: minted.unionid } : {}),
      }),
    };
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
