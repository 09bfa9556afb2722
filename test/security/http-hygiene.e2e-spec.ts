import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ERRORS, type ErrorCode } from '../../src/common/errors/error-codes';
import { freePort } from '../support/free-port';
import { createTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase } from '../support/test-database';
import { useListeningApp } from '../support/use-test-app';

/** What every API answer (success or error) carries: JSON is never a document to render or frame. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** A production environment that passes loadConfig: real random secrets, no sandbox. */
const productionEnv = (): Record<string, string> => ({
  NODE_ENV: 'production',
  JWT_SECRET: randomBytes(48).toString('base64'),
  SESSION_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  WECHAT_API_BASE: 'http://127.0.0.1:9', // loopback: allowed in production, never called here
  PUBLIC_URL: 'https://auth.example.com', // required in production (RFC 8414 issuer)
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends bytes exactly as given (supertest and undici fix up what these tests need broken) and parses
 * the answers until the server closes the connection. `after` runs once the bytes are written and may
 * write more (for requests that must arrive at a chosen moment).
 */
function exchange(
  port: number,
  bytes: string,
  after?: (write: (more: string) => void) => Promise<void>,
): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of answer; got ${JSON.stringify(data.toString('latin1'))}`));
    }, 10_000);
    socket.on('data', (chunk) => (data = Buffer.concat([data, chunk])));
    socket.on('error', reject);
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve(parseResponses(data));
      } catch (e) {
        reject(e);
      }
    });
    socket.write(bytes, () => void after?.((more) => socket.write(more)).catch(reject));
  });
}

function parseResponses(data: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = data;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`truncated answer: ${JSON.stringify(rest.toString('latin1'))}`);
    const [statusLine, ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      const name = line.slice(0, i).trim().toLowerCase();
      const value = line.slice(i + 1).trim();
      headers[name] = headers[name] !== undefined ? `${headers[name]}, ${value}` : value;
    }
    const length = status < 200 ? 0 : Number(headers['content-length'] ?? rest.length - end - 4);
    const body = rest.subarray(end + 4, end + 4 + length).toString('utf8');
    rest = rest.subarray(end + 4 + length);
    if (status >= 200) out.push({ status, headers, body }); // 100 Continue is not an answer
  }
  return out;
}

/** The access-log line pino-http wrote for this request id, if any. */
function accessLogLine(t: TestApp, requestId: string): { res?: { statusCode?: number } } | undefined {
  return t.logs
    .map((l) => JSON.parse(l) as { req?: { id?: string }; res?: { statusCode?: number } })
    .find((l) => l.req?.id === requestId && l.res?.statusCode !== undefined);
}

/** The one error format, with its headers, the access-log line, and none of the request echoed. */
function expectErrorFormat(
  t: TestApp,
  res: RawResponse,
  status: number,
  code: ErrorCode,
  notEchoed: string[] = [],
): void {
  expect({ status: res.status, body: JSON.parse(res.body) as unknown }).toEqual({
    status,
    body: { statusCode: status, code, message: ERRORS[code].message, requestId: res.headers['x-request-id'] },
  });
  expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.headers).toMatchObject({
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': API_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'strict-transport-security': expect.stringContaining('max-age='),
  });
  if (status === 503 || status === 429) expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  for (const s of notEchoed) expect(res.body).not.toContain(s);
  expect(accessLogLine(t, res.headers['x-request-id'])?.res?.statusCode).toBe(status);
}

describe('HTTP hygiene (e2e)', () => {
  const fx = useListeningApp();

  describe('security headers: a strict CSP on the API, the loose one Swagger UI needs on /docs only', () => {
    it.each([
      ['GET', '/health/live', 200],
      ['GET', '/users/me', 401],
      ['GET', '/nope', 404],
      ['POST', '/auth/refresh', 400],
      ['GET', '/docs-json', 200],
      ['GET', '/docsx', 404],
    ])('%s %s (%i) carries the strict API policy', async (method, path, status) => {
      const res = await request(fx.t.server)[method === 'GET' ? 'get' : 'post'](path);
      expect(res.status).toBe(status);
      expect(res.headers['content-security-policy']).toBe(API_CSP);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
    });

    it('gives Swagger UI (/docs and every asset it loads) the policy its inline scripts and styles need', async () => {
      const page = await request(fx.t.server).get('/docs');
      expect(page.status).toBe(200);
      const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map(
        (m) => new URL(m[1], 'http://host/docs').pathname,
      );
      expect(assets).toContain('/docs/swagger-ui-init.js');
      for (const path of ['/docs', '/docs/', ...assets]) {
        const res = await request(fx.t.server).get(path);
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        const csp = res.headers['content-security-policy'] as string;
        expect(csp).toContain("script-src 'self' https: 'unsafe-inline'");
        expect(csp).toContain("style-src 'self' 'unsafe-inline'");
        expect(csp).toContain("frame-ancestors 'none'");
      }
    });
  });

  describe('Swagger UI and JSON: off in production unless SWAGGER_ENABLED=true', () => {
    it.each([
      ['test (default: on)', {}, true],
      ['test, SWAGGER_ENABLED=false', { SWAGGER_ENABLED: 'false' }, false],
      ['production (default: off)', productionEnv(), false],
      ['production, SWAGGER_ENABLED=false', { ...productionEnv(), SWAGGER_ENABLED: 'false' }, false],
      ['production, SWAGGER_ENABLED=true', { ...productionEnv(), SWAGGER_ENABLED: 'true' }, true],
    ])('%s', async (_name, env, served) => {
      const other = await createTestApp({ databaseUrl: fx.db.url, env });
      try {
        for (const path of ['/docs', '/docs/', '/docs-json', '/docs/swagger-ui-init.js']) {
          const res = await request(other.server).get(path);
          if (served) {
            expect({ path, status: res.status }).toEqual({ path, status: 200 });
          } else {
            expect({ path, status: res.status, code: res.body.code }).toEqual({
              path,
              status: 404,
              code: 'NOT_FOUND',
            });
            expect(res.headers['content-security-policy']).toBe(API_CSP);
          }
        }
      } finally {
        await other.close();
      }
    });
  });

  describe('CORS', () => {
    const preflight = (server: TestApp['server'], origin: string, path = '/auth/refresh') =>
      request(server)
        .options(path)
        .set('origin', origin)
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'content-type,authorization');
    const corsHeaders = (headers: Record<string, string>) =>
      Object.keys(headers).filter((h) => h.startsWith('access-control-'));

    it('is off by default: no Access-Control-* headers, and a preflight is a formatted 404', async () => {
      const simple = await request(fx.t.server)
        .get('/health/live')
        .set('origin', 'https://admin.example.com');
      expect(simple.status).toBe(200);
      expect(corsHeaders(simple.headers)).toEqual([]);
      for (const path of ['/auth/refresh', '/users/me', '/nope']) {
        const res = await preflight(fx.t.server, 'https://admin.example.com', path);
        expect({ path, status: res.status, code: res.body.code }).toEqual({
          path,
          status: 404,
          code: 'NOT_FOUND',
        });
        expect(corsHeaders(res.headers)).toEqual([]);
      }
    });

    describe('with CORS_ORIGINS: an exact allowlist', () => {
      let cors: TestApp;
      const ALLOWED = 'https://admin.example.com';

      beforeAll(async () => {
        cors = await createTestApp({
          databaseUrl: fx.db.url,
          env: { CORS_ORIGINS: `${ALLOWED}, https://ops.example.com:8443` },
        });
      });
      afterAll(async () => {
        await cors?.close();
      });

      it.each([ALLOWED, 'https://ops.example.com:8443'])(
        'lets %s read answers (no credentials)',
        async (origin) => {
          const res = await request(cors.server).get('/health/live').set('origin', origin);
          expect(res.status).toBe(200);
          expect(res.headers['access-control-allow-origin']).toBe(origin);
          expect(res.headers['access-control-allow-credentials']).toBeUndefined();
          expect(res.headers['access-control-expose-headers']).toBe(
            'X-Request-Id, Retry-After, WWW-Authenticate',
          );
          expect(res.headers.vary).toMatch(/\bOrigin\b/);
        },
      );

      it('answers an allowed preflight with the methods and headers the API uses', async () => {
        const res = await preflight(cors.server, ALLOWED);
        expect(res.status).toBe(204);
        expect(res.headers).toMatchObject({
          'access-control-allow-origin': ALLOWED,
          'access-control-allow-methods': 'GET, POST, PATCH, DELETE',
          'access-control-allow-headers': 'Authorization, Content-Type, X-Request-Id',
          'access-control-max-age': '600',
        });
        expect(res.headers['access-control-allow-credentials']).toBeUndefined();
        expect(res.headers.vary).toMatch(/\bOrigin\b/);
      });

      it.each([
        'https://evil.example.com',
        'https://admin.example.com.evil.com',
        'https://evil-admin.example.com',
        'http://admin.example.com',
        'https://admin.example.com:8443',
        'https://ops.example.com',
        'https://ADMIN.example.com',
        'https://admin.example.com/',
        'null',
        '*',
      ])('gives %s no CORS headers, and its preflight a formatted 404', async (origin) => {
        const simple = await request(cors.server).get('/health/live').set('origin', origin);
        expect(simple.status).toBe(200);
        expect(corsHeaders(simple.headers)).toEqual([]);
        expect(simple.headers.vary).toMatch(/\bOrigin\b/); // caches must not serve it an allowed origin's answer
        const res = await preflight(cors.server, origin);
        expect({ status: res.status, code: res.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
        expect(corsHeaders(res.headers)).toEqual([]);
      });

      it('treats an OPTIONS without Access-Control-Request-Method as no preflight (formatted 404)', async () => {
        const res = await request(cors.server).options('/auth/refresh').set('origin', ALLOWED);
        expect({ status: res.status, code: res.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
      });
    });
  });

  describe('errors Fastify and Node answered themselves now use the one format', () => {
    const LONG_ID = 'a'.repeat(5000);
    const JSON_2 = 'Content-Type: application/json\r\nContent-Length: 2\r\n';
    /** A request line and headers (each ending in CRLF), then Connection: close and the body. */
    const raw = (head: string, body = '') => `${head}Connection: close\r\n\r\n${body}`;

    it.each<[string, string, number, ErrorCode, string[]]>([
      [
        'a bad URL encoding',
        raw('GET /sessions/%zz HTTP/1.1\r\nHost: x\r\n'),
        400,
        'MALFORMED_REQUEST',
        ['%zz'],
      ],
      [
        'broken UTF-8 in a parameter',
        raw('GET /sessions/%e0%a4%a HTTP/1.1\r\nHost: x\r\n'),
        400,
        'MALFORMED_REQUEST',
        ['%e0'],
      ],
      [
        'a bad encoding on an unknown route',
        raw('DELETE /nope/%zz/x HTTP/1.1\r\nHost: x\r\n'),
        400,
        'MALFORMED_REQUEST',
        ['nope'],
      ],
      [
        'an over-long path parameter',
        raw(`GET /sessions/${LONG_ID} HTTP/1.1\r\nHost: x\r\n`),
        414,
        'URI_TOO_LONG',
        ['aaaaaaaaaa'],
      ],
      [
        'a parameter one character over the limit',
        raw(`DELETE /sessions/${'b'.repeat(101)} HTTP/1.1\r\nHost: x\r\n`),
        414,
        'URI_TOO_LONG',
        ['bbbbbbbbbb'],
      ],
      [
        'an Expect header other than 100-continue',
        raw(`POST /auth/refresh HTTP/1.1\r\nHost: x\r\nExpect: x-teapot\r\n${JSON_2}`, '{}'),
        417,
        'EXPECTATION_FAILED',
        ['teapot'],
      ],
      ['HTTP/1.1 without Host', raw('GET /health/live HTTP/1.1\r\n'), 400, 'MALFORMED_REQUEST', []],
      [
        'HTTP/1.1 without Host, on a guarded route',
        raw('GET /users/me HTTP/1.1\r\n'),
        400,
        'MALFORMED_REQUEST',
        [],
      ],
      [
        'HTTP/1.1 without Host, with a body',
        raw(`POST /auth/refresh HTTP/1.1\r\n${JSON_2}`, '{}'),
        400,
        'MALFORMED_REQUEST',
        [],
      ],
    ])('%s', async (_name, bytes, status, code, notEchoed) => {
      const [res, ...more] = await exchange(fx.port, bytes);
      expect(more).toEqual([]);
      expectErrorFormat(fx.t, res, status, code, notEchoed);
    });

    it.each([
      ['HTTP/1.0 without Host is still fine', 'GET /health/live HTTP/1.0\r\n\r\n', 200],
      [
        'Expect: 100-continue still works (100, then the answer)',
        raw(`POST /auth/refresh HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n${JSON_2}`, '{}'),
        400,
      ],
      [
        'a parameter of exactly 100 characters is routed',
        raw(`GET /sessions/${'c'.repeat(100)} HTTP/1.1\r\nHost: x\r\n`),
        401,
      ],
    ])('%s', async (_name, bytes, status) => {
      const [res] = await exchange(fx.port, bytes);
      expect(res.status).toBe(status);
      expect(res.headers['content-security-policy']).toBe(API_CSP);
    });

    it('answers a request that arrives while the app shuts down with 503 in the format, Retry-After and Connection: close', async () => {
      const dbClosing = await createTestDatabase();
      const closingPort = await freePort();
      const app = await createTestApp({
        databaseUrl: dbClosing.url,
        listen: true,
        env: { PORT: String(closingPort) },
      });
      let closed: Promise<void> | undefined;
      try {
        // The request starts before the shutdown (so the connection is busy, not idle) and ends after it began.
        const [res, ...more] = await exchange(
          closingPort,
          'GET /health/live HTTP/1.1\r\nHost: x\r\n',
          async (write) => {
            closed = app.close();
            const until = Date.now() + 5000;
            while (app.server.listening && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
            expect(app.server.listening).toBe(false);
            write('\r\n');
          },
        );
        expect(more).toEqual([]);
        expectErrorFormat(app, res, 503, 'SERVICE_UNAVAILABLE');
        expect(res.headers.connection).toBe('close');
      } finally {
        await (closed ?? app.close());
        await dbClosing.drop();
      }
    });
  });

  describe('405 METHOD_NOT_ALLOWED with Allow for a path served under other methods; unknown paths stay 404', () => {
    const SESSION = '/sessions/0b5e3f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
    const raw = (method: string, path: string) =>
      `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;

    it.each([
      ['GET', '/auth/refresh', 'POST'],
      ['DELETE', '/auth/wechat/login', 'POST'],
      ['POST', '/users/me', 'DELETE, GET, HEAD, PATCH, PUT'],
      ['PUT', SESSION, 'DELETE, GET, HEAD'],
      ['PATCH', '/health/live', 'GET, HEAD'],
      ['POST', '/users/me/export', 'GET, HEAD'],
    ])('%s %s → 405, Allow: %s, in the error format', async (method, path, allow) => {
      const [res, ...more] = await exchange(fx.port, raw(method, path));
      expect(more).toEqual([]);
      expectErrorFormat(fx.t, res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers.allow).toBe(allow);
    });

    it('HEAD on a POST-only path: 405 with Allow and the headers, no body', async () => {
      const res = await request(fx.t.server).head('/auth/refresh');
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('POST');
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers['content-security-policy']).toBe(API_CSP);
    });

    it.each([
      ['GET', '/nope'],
      ['POST', '/users/me/nope'],
      ['GET', '/auth/refresh/'],
      ['DELETE', '/sessions/a/b'],
      // OPTIONS belongs to CORS: a preflight to a path without CORS stays the formatted 404.
      ['OPTIONS', '/auth/refresh'],
    ])('%s %s → 404 NOT_FOUND, no Allow', async (method, path) => {
      const [res] = await exchange(fx.port, raw(method, path));
      expectErrorFormat(fx.t, res, 404, 'NOT_FOUND');
      expect(res.headers.allow).toBeUndefined();
    });

    it('the right method still reaches the route (and its guard)', async () => {
      expect((await request(fx.t.server).get(SESSION)).status).toBe(401);
      expect((await request(fx.t.server).post('/auth/refresh').send({})).status).toBe(400);
    });
  });

  describe('slow and vanishing clients: bounded, answered in the format, never a dependency alarm', () => {
    const slow = useListeningApp({ HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '1500' });

    const expectTimeout = (res: RawResponse | undefined): void => {
      expect(res?.status).toBe(408);
      expect(JSON.parse(res?.body ?? '')).toEqual({
        statusCode: 408,
        code: 'REQUEST_TIMEOUT',
        message: ERRORS.REQUEST_TIMEOUT.message,
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(res?.headers.connection).toBe('close');
      // Answered by Node's parser layer, not Fastify, yet with the same headers as every other error.
      expect(res?.headers['x-request-id']).toBe(JSON.parse(res?.body ?? '').requestId);
      expect(res?.headers).toMatchObject({
        'cache-control': 'no-store',
        'content-security-policy': API_CSP,
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'strict-transport-security': expect.stringContaining('max-age='),
      });
    };

    it.each([
      ['headers that never end', 'GET /health/live HTTP/1.1\r\nHost: x\r\n', 1000],
      [
        'a body that stalls (Content-Length 100, 18 bytes sent)',
        'POST /auth/wechat/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          'Content-Length: 100\r\n\r\n{"code":"0123456"',
        1500,
      ],
    ])('%s: 408 REQUEST_TIMEOUT and the socket closed after the timeout', async (_name, bytes, timeoutMs) => {
      const started = Date.now();
      const [res] = await exchange(slow.port, bytes);
      const took = Date.now() - started;
      expectTimeout(res);
      expect(took).toBeGreaterThanOrEqual(timeoutMs - 50);
      // Node checks every connectionsCheckingInterval (1 s here): the answer comes within one more interval.
      expect(took).toBeLessThan(timeoutMs + 2500);
    });

    it('a client that drops its upload half-way is logged at debug as a client abort, not as an outage', async () => {
      const socket = connect(slow.port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write(
        'POST /auth/wechat/login HTTP/1.1\r\nHost: x\r\nX-Request-Id: abort-upload-0001\r\n' +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"code":',
      );
      const until = Date.now() + 5000;
      const lines = (): { level: number; msg?: string; requestId?: string; req?: { id?: string } }[] =>
        slow.t.logs.map((l) => JSON.parse(l) as { level: number; msg?: string; requestId?: string });
      // Destroy only once the request is being read (its body parser is waiting), as a phone losing signal would.
      await new Promise((r) => setTimeout(r, 200));
      socket.destroy();
      const mine = () =>
        lines().filter((l) => l.requestId === 'abort-upload-0001' || l.req?.id === 'abort-upload-0001');
      while (!mine().some((l) => /client/i.test(l.msg ?? '')) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      expect(mine()).toContainEqual(
        expect.objectContaining({ level: 20, msg: expect.stringMatching(/client/i) }),
      );
      expect(mine().filter((l) => l.level >= 40)).toEqual([]);
      expect(slow.t.logs.join('\n')).not.toContain('SERVICE_UNAVAILABLE');
    });
  });

  describe('SQLite files are private to the service user (0600, like dev-secrets.json)', () => {
    it.each([
      ['a fresh DATA_DIR', false],
      ['database files left world-readable by an earlier version', true],
    ])('%s', async (_name, preexisting) => {
      const dir = mkdtempSync(join(tmpdir(), 'wxauth-modes-'));
      try {
        if (preexisting) {
          for (const f of ['app.sqlite', 'app.sqlite-wal', 'app.sqlite-shm']) {
            closeSync(openSync(join(dir, f), 'w'));
            chmodSync(join(dir, f), 0o644);
          }
        }
        // DATABASE_URL='' is unset: the default SQLite file under DATA_DIR.
        const app = await createTestApp({
          databaseUrl: '',
          env: { DATA_DIR: dir, DATABASE_URL: '' },
        });
        try {
          // Migrations have written: the WAL and its shared-memory index exist now.
          const modes = Object.fromEntries(
            ['app.sqlite', 'app.sqlite-wal', 'app.sqlite-shm'].map((f) => [
              f,
              (statSync(join(dir, f)).mode & 0o777).toString(8),
            ]),
          );
          expect(modes).toEqual({ 'app.sqlite': '600', 'app.sqlite-wal': '600', 'app.sqlite-shm': '600' });
        } finally {
          await app.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
