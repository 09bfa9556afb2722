import { AsyncLocalStorage } from 'node:async_hooks';
import { request as httpRequest } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { storage as pinoStorage, Store as PinoStore } from 'nestjs-pino/storage';
import {
  currentRequestContext,
  registerRequestContext,
  runWithRequestContext,
  type RequestContext,
} from './request-context';

/** A "service" called from a handler: reads the context after real async hops (timer, promise, I/O). */
async function serviceCall(): Promise<RequestContext | undefined> {
  await new Promise((resolve) => setTimeout(resolve, 1));
  await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
  return currentRequestContext();
}

describe('request context', () => {
  let app: FastifyInstance;
  let base: string;
  /** Requests wait here until `release()`: proves two in-flight requests keep their own context. */
  let gate: Promise<void>;
  let release: () => void;
  let arrived: number;

  beforeEach(async () => {
    gate = new Promise<void>((resolve) => (release = resolve));
    arrived = 0;
    app = Fastify({
      trustProxy: '127.0.0.1',
      genReqId: (req) => String(req.headers['x-request-id'] ?? 'none'),
    });
    registerRequestContext(app);
    // Like nestjs-pino's middleware: another AsyncLocalStorage entered in its own onRequest hook.
    app.addHook('onRequest', (request, _reply, done) => {
      pinoStorage.run(new PinoStore({ reqId: request.id } as never), done);
    });
    const handler = async (request: { query: unknown; body: unknown }) => {
      const inHandler = currentRequestContext();
      arrived++;
      if ((request.query as { wait?: string }).wait) await gate;
      return {
        inHandler,
        inService: await serviceCall(),
        pino: (pinoStorage.getStore()?.logger as unknown as { reqId?: string } | undefined)?.reqId ?? null,
        body: request.body ?? null,
      };
    };
    app.get('/ctx', handler);
    app.post('/ctx', handler);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterEach(async () => {
    await app.close();
  });

  const call = async (init: RequestInit & { path?: string } = {}) => {
    const res = await fetch(`${base}${init.path ?? '/ctx'}`, init);
    expect(res.status).toBe(200);
    return (await res.json()) as {
      inHandler: RequestContext | null;
      inService: RequestContext | null;
      pino: string | null;
      body: unknown;
    };
  };

  it('is seen by the handler and by a service it calls (GET)', async () => {
    const out = await call({ headers: { 'x-request-id': 'req-get-0001' } });
    expect(out.inHandler).toEqual({ requestId: 'req-get-0001', clientIp: '127.0.0.1' });
    expect(out.inService).toEqual(out.inHandler);
  });

  it('survives body parsing (POST with a JSON body: the stream events run outside onRequest)', async () => {
    const out = await call({
      method: 'POST',
      headers: { 'x-request-id': 'req-post-0001', 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'abc' }),
    });
    expect(out.body).toEqual({ code: 'abc' });
    expect(out.inHandler).toEqual({ requestId: 'req-post-0001', clientIp: '127.0.0.1' });
    expect(out.inService).toEqual(out.inHandler);
  });

  it('survives a body that arrives after the headers, in a later packet', async () => {
    const url = new URL(`${base}/ctx`);
    const out = await new Promise<{ inHandler: RequestContext; inService: RequestContext }>(
      (resolve, reject) => {
        const req = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            path: '/ctx',
            method: 'POST',
            headers: {
              'x-request-id': 'req-slow-0001',
              'content-type': 'application/json',
              'content-length': '7',
            },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve(JSON.parse(text)));
          },
        );
        req.on('error', reject);
        req.flushHeaders();
        setTimeout(() => req.end('{"a":1}'), 20);
      },
    );
    expect(out.inHandler).toEqual({ requestId: 'req-slow-0001', clientIp: '127.0.0.1' });
    expect(out.inService).toEqual(out.inHandler);
  });

  it('takes the client IP from X-Forwarded-For only as far as trustProxy allows', async () => {
    const out = await call({ headers: { 'x-request-id': 'req-xff-0001', 'x-forwarded-for': '203.0.113.7' } });
    expect(out.inService?.clientIp).toBe('203.0.113.7');
  });

  it('keeps two concurrent requests apart', async () => {
    const a = call({ path: '/ctx?wait=1', headers: { 'x-request-id': 'req-aaaa-0001' } });
    const b = call({
      path: '/ctx?wait=1',
      method: 'POST',
      headers: {
        'x-request-id': 'req-bbbb-0002',
        'x-forwarded-for': '198.51.100.9',
        'content-type': 'application/json',
      },
      body: '{"n":2}',
    });
    while (arrived < 2) await new Promise((resolve) => setTimeout(resolve, 2));
    release();
    const [outA, outB] = await Promise.all([a, b]);
    expect(outA.inService).toEqual({ requestId: 'req-aaaa-0001', clientIp: '127.0.0.1' });
    expect(outB.inService).toEqual({ requestId: 'req-bbbb-0002', clientIp: '198.51.100.9' });
  });

  it("does not disturb nestjs-pino's own AsyncLocalStorage (both stores are seen, with and without a body)", async () => {
    expect(pinoStorage).toBeInstanceOf(AsyncLocalStorage);
    const get = await call({ headers: { 'x-request-id': 'req-pino-0001' } });
    expect(get.pino).toBe('req-pino-0001');
    expect(get.inService?.requestId).toBe('req-pino-0001');
    const post = await call({
      method: 'POST',
      headers: { 'x-request-id': 'req-pino-0002', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(post.pino).toBe('req-pino-0002');
    expect(post.inService?.requestId).toBe('req-pino-0002');
  });

  it('is undefined outside a request and set inside runWithRequestContext', async () => {
    expect(currentRequestContext()).toBeUndefined();
    const ctx = { requestId: 'job-1', clientIp: '' };
    await expect(runWithRequestContext(ctx, () => serviceCall())).resolves.toBe(ctx);
    expect(currentRequestContext()).toBeUndefined();
  });
});
