import { connect, type Socket } from 'node:net';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { registerLingeringClose, type LingerLimits } from './lingering-close';

// The idle and time limits far apart (and the upper bounds loose): on a loaded 2-core machine a close can come
// a few hundred ms late, and each test must still tell which limit closed the connection.
const LIMITS: LingerLimits = { maxMs: 2000, idleMs: 300, maxBytes: 2 * 1024 * 1024 };

describe('lingering close', () => {
  let app: FastifyInstance;
  let port: number;

  beforeAll(async () => {
    // Fastify itself, through the adapter that brings it (no direct dependency on fastify).
    app = new FastifyAdapter({ bodyLimit: 1024 }).getInstance();
    registerLingeringClose(app, LIMITS);
    app.post('/x', () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });

  afterAll(() => app.close());

  /** Sends a 413-worthy request, then `more` every `everyMs` until the server closes; returns when it did. */
  async function lingerFor(
    more: Buffer,
    everyMs: number,
  ): Promise<{ status: string; closedAfterMs: number }> {
    const socket: Socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('error', () => undefined);
    socket.write(
      'POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n',
    );
    await new Promise((resolve) => socket.once('end', resolve));
    const answeredAt = Date.now();
    const timer = setInterval(() => socket.writable && socket.write(more), everyMs);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        app.server.getConnections((_e, n) => {
          if (n === 0) {
            clearInterval(poll);
            resolve();
          }
        });
      }, 10);
    });
    clearInterval(timer);
    socket.destroy();
    return { status: text.split(' ')[1], closedAfterMs: Date.now() - answeredAt };
  }

  it('closes a client that keeps trickling at the time limit', async () => {
    const { status, closedAfterMs } = await lingerFor(Buffer.alloc(100, 'a'), 50);
    expect(status).toBe('413');
    expect(closedAfterMs).toBeGreaterThanOrEqual(LIMITS.maxMs - 50);
    expect(closedAfterMs).toBeLessThan(LIMITS.maxMs + 1000);
  });

  it('closes a client that floods at the byte limit, well before the time limit', async () => {
    const { status, closedAfterMs } = await lingerFor(Buffer.alloc(256 * 1024, 'a'), 5);
    expect(status).toBe('413');
    expect(closedAfterMs).toBeLessThan(LIMITS.maxMs - 500);
  });

  it('closes a client that stops sending at the idle limit', async () => {
    const { status, closedAfterMs } = await lingerFor(Buffer.alloc(0), 1000);
    expect(status).toBe('413');
    expect(closedAfterMs).toBeGreaterThanOrEqual(LIMITS.idleMs - 50);
    expect(closedAfterMs).toBeLessThan(LIMITS.maxMs);
  });

  it('leaves kept-alive connections alone: a complete request is answered and the socket is reused', async () => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    const body = '{"a":1}';
    const req = `POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    socket.write(req + req);
    const until = Date.now() + 2000;
    while ((text.match(/HTTP\/1\.1 200/g) ?? []).length < 2 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    expect((text.match(/HTTP\/1\.1 200/g) ?? []).length).toBe(2);
    expect(socket.destroyed).toBe(false);
    socket.destroy();
  });
});
