import type { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { Code2SessionCall } from '../src/wechat-auth/login/code2session.endpoint';
import { createWechatPool } from '../src/wechat-auth/upstream/wechat-pool';
import { type HttpRequestFn, MAX_RESPONSE_BYTES, WechatHttp } from '../src/wechat-auth/upstream/wechat-http';
import { testConfig } from '../src/testing/test-config';

/**
 * Hostile finding: an answer from WeChat (or anything on the way: a gateway's HTML error page) whose
 * Content-Length is above MAX_RESPONSE_BYTES makes readCapped call `answer.body.destroy()` before anything
 * listens to the body. undici's BodyReadable.destroy() without an error creates a RequestAbortedError and
 * emits it as 'error' with no listener: an uncaught exception, and the whole process exits (every request in
 * flight lost). Reproduced against `node dist/main.js` with a fake WeChat answering `content-length: 9000`.
 *
 * The unit spec answers with Readable.from(), whose destroy() emits no error, so it never saw this. Here the
 * real pool (undici) talks to a real socket; the body's emit is watched so that the test reports the
 * unhandled 'error' instead of taking the jest worker down with it.
 */
describe('WechatHttp on the real pool: an answer declared larger than the cap', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const status = req.url?.startsWith('/gateway') ? 502 : 200;
      const body = `{"openid":"o1","session_key":"c2Vzc2lvbktleURvTm90TG9n","pad":"${'x'.repeat(MAX_RESPONSE_BYTES)}"}`;
      res.writeHead(status, { 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  for (const path of ['', '/gateway']) {
    it(`answers 'unparsable' without an unhandled 'error' on the body (${path || 'status 200'})`, async () => {
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const config = testConfig({
        WECHAT_API_BASE: `${base}${path}`,
        WECHAT_APPID: 'wxapp',
        WECHAT_SECRET: 'S3CRET',
      });
      const pool = createWechatPool(config);
      const unhandled: unknown[] = [];
      const request: HttpRequestFn = async (url, init) => {
        const answer = await pool.request(url, init);
        const body = answer.body as unknown as EventEmitter;
        const emit = body.emit.bind(body);
        // What Node does with an 'error' nobody listens to: throw it, out of any promise — the process dies.
        body.emit = ((event: string | symbol, ...args: unknown[]) => {
          if (event === 'error' && body.listenerCount('error') === 0) {
            unhandled.push(args[0]);
            return false;
          }
          return emit(event, ...args);
        }) as typeof body.emit;
        return answer;
      };
      const http = new WechatHttp(config, request);
      const login = new Code2SessionCall(false);
      try {
        await expect(
          http.send(
            login.request({ appid: 'wxapp', secret: 'S3CRET' }, 'CODE'),
            { api: 'jscode2session' },
            2000,
          ),
        ).rejects.toMatchObject({ failure: 'unparsable' });
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(unhandled.map((e) => (e as { code?: string })?.code ?? String(e))).toEqual([]);
      } finally {
        await pool.close();
      }
    });
  }
});
