import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { FakeWechat } from './support/fake-wechat';
import { freePort } from './support/free-port';
import { testEnv } from './support/test-app';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const ROOT = join(__dirname, '..');

interface Running {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** The service as production starts it (src/main.ts: its own signal handling), on a port of its own. */
async function startService(db: TestDatabase, wechat: FakeWechat, env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      ...testEnv({ databaseUrl: db.url, wechatApiBase: wechat.baseUrl }),
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited at start:\n${out}`);
    if (Date.now() > until) throw new Error(`service did not start:\n${out}`);
    const up = await fetch(`http://127.0.0.1:${port}/health/live`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, port, output: () => out, exited };
}

/** A request on `agent` (keep-alive): status and body, or the transport error's code. */
function call(
  port: number,
  agent: Agent,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status?: number; body?: unknown; connection?: string; error?: string }> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode, body: JSON.parse(text) as unknown, connection: res.headers.connection }),
        );
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(payload);
  });
}

const sessionKey = Buffer.alloc(16, 3).toString('base64');

/**
 * SIGTERM: in-flight requests finish (a login waiting on WeChat included), idle keep-alive connections
 * close at once instead of holding the process for the keep-alive timeout, then the pool and Redis close
 * and the process exits 0; a request still running at SHUTDOWN_GRACE_MS is cut and the process exits anyway.
 */
describe('graceful shutdown of the real process (e2e)', () => {
  let wechat: FakeWechat;
  let db: TestDatabase;
  let svc: Running | undefined;

  beforeAll(async () => {
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
  });

  beforeEach(async () => {
    db = await createTestDatabase();
  });

  afterEach(async () => {
    if (svc && svc.child.exitCode === null && svc.child.signalCode === null) svc.child.kill('SIGKILL');
    await svc?.exited;
    svc = undefined;
    await db.drop();
  });

  afterAll(async () => {
    await wechat?.stop();
  });

  it('lets a login in flight at WeChat finish, closes idle keep-alive sockets, exits 0 long before the keep-alive timeout', async () => {
    svc = await startService(db, wechat, { SHUTDOWN_GRACE_MS: '8000' });
    const idleAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const loginAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // An idle keep-alive connection, as a load balancer's pool holds.
      expect((await call(svc.port, idleAgent, 'GET', '/health/live')).status).toBe(200);
      const idleSocketClosed = new Promise<number>((resolve) => {
        const sockets = Object.values(idleAgent.freeSockets).flat();
        expect(sockets).toHaveLength(1);
        sockets[0]?.once('close', () => resolve(Date.now()));
      });

      const code = wechat.mint({ openid: 'o-shutdown-in-flight' });
      wechat.script(code, {
        kind: 'slow',
        ms: 1500,
        then: { kind: 'json', body: { openid: 'o-shutdown-in-flight', session_key: sessionKey } },
      });
      const login = call(svc.port, loginAgent, 'POST', '/auth/wechat/login', { code });
      const until = Date.now() + 10_000;
      while (wechat.callsFor(code) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(wechat.callsFor(code)).toBe(1);

      const signalledAt = Date.now();
      svc.child.kill('SIGTERM');

      const idleClosedAt = await idleSocketClosed;
      expect(idleClosedAt - signalledAt).toBeLessThan(1000);

      const answered = await login;
      expect(answered).toMatchObject({ status: 200, connection: 'close' });
      expect(answered.body).toMatchObject({ accessToken: expect.any(String), user: { isNew: true } });

      const { code: exitCode, at } = await svc.exited;
      expect(exitCode).toBe(0);
      // Keep-alive is 72 s by default: the exit follows the last answer, not the idle sockets.
      expect(at - signalledAt).toBeLessThan(6000);
      expect(svc.output()).toContain('shut down cleanly');
      // New connections after the signal are refused: the listener closed first.
      expect((await call(svc.port, new Agent(), 'GET', '/health/live')).error).toBe('ECONNREFUSED');
    } finally {
      idleAgent.destroy();
      loginAgent.destroy();
    }
  }, 90_000);

  it('cuts a request still running when SHUTDOWN_GRACE_MS is over, and still exits', async () => {
    svc = await startService(db, wechat, { SHUTDOWN_GRACE_MS: '500', WECHAT_LOGIN_DEADLINE_MS: '30000' });
    const agent = new Agent({ keepAlive: true });
    try {
      const code = wechat.mint();
      wechat.script(code, { kind: 'hang' });
      const login = call(svc.port, agent, 'POST', '/auth/wechat/login', { code });
      const until = Date.now() + 10_000;
      while (wechat.callsFor(code) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));

      const signalledAt = Date.now();
      svc.child.kill('SIGTERM');
      expect((await login).error).toBe('ECONNRESET');
      const { code: exitCode, at } = await svc.exited;
      expect(exitCode).toBe(0);
      expect(at - signalledAt).toBeLessThan(5000);
      expect(svc.output()).toContain('were cut (SHUTDOWN_GRACE_MS)');
    } finally {
      agent.destroy();
    }
  }, 90_000);
});
