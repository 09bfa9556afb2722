/**
 * The bench's WeChat, run as a child process (`fork`) so the load generator cannot starve it:
 * SandboxWechat (the one implementation of WeChat's behaviour) behind node:http. The load is
 * generated synchronously (autocannon's setupRequest), so codes cannot be minted ahead by a call
 * here; instead a code names its user and is minted when WeChat first sees it:
 *
 * - `bench-<openid>-<nonce>`: minted for `openid` (a new session_key, like wx.login()), then
 *   exchanged as WeChat would (single use: the same code again answers 40163);
 * - `hang-<nonce>`: never answered, until `POST /bench/release-hangs`, which answers the held ones
 *   and every later one 40029 (invalid code: not retried by the service).
 *
 * Environment: BENCH_WECHAT_APPID, BENCH_WECHAT_SECRET. Sends `{ port }` to the parent when listening.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SystemClock } from '../src/common/clock/system-clock';
import { Random } from '../src/common/random/random';
import { MemoryKvStore } from '../src/common/store/memory-kv-store';
import { SANDBOX_ERRCODE, SandboxWechat } from '../src/wechat-auth/sandbox/sandbox-wechat';

const BENCH_CODE = /^bench-([A-Za-z0-9_]+)-[A-Za-z0-9]+$/;

const appid = process.env.BENCH_WECHAT_APPID ?? '';
const clock = new SystemClock();
const sandbox = new SandboxWechat(
  new Map([[appid, process.env.BENCH_WECHAT_SECRET ?? '']]),
  new MemoryKvStore(clock),
  new Random(),
  clock,
);
const held = new Set<ServerResponse>();
let hangsReleased = false;

// WeChat labels its JSON text/plain.
const reply = (res: ServerResponse, body: unknown): void => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end(JSON.stringify(body));
};
const invalidCode = { errcode: SANDBOX_ERRCODE.INVALID_CODE, errmsg: 'invalid code' };

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://wechat');
  if (url.pathname === '/bench/release-hangs') {
    hangsReleased = true;
    for (const r of held) reply(r, invalidCode);
    held.clear();
    return void res.writeHead(204).end();
  }
  const code = url.searchParams.get('js_code') ?? '';
  if (code.startsWith('hang-')) {
    if (hangsReleased) return reply(res, invalidCode);
    held.add(res);
    res.on('close', () => held.delete(res));
    return;
  }
  const openid = BENCH_CODE.exec(code)?.[1];
  void (async () => {
    if (openid) await sandbox.mintLoginCode({ appid, openid, code });
    const out = await sandbox.handle({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
    });
    reply(res, out.body);
  })().catch((err: unknown) => res.writeHead(500).end(String(err)));
});

server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
