/**
 * The same-run baseline, run as a child process (`fork`): plain node:http verifying the service's
 * HS256 access token with node:crypto (HMAC-SHA256, constant-time compare, JSON claims, `exp`) and
 * answering the claims as JSON, on any path. What the service does on GET /auth/session, minus
 * the framework. Environment: BENCH_JWT_SECRET. Sends `{ port }` to the parent when listening.
 */
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const key = createSecretKey(Buffer.from(process.env.BENCH_JWT_SECRET ?? '', 'utf8'));

function claimsOf(authorization: string | undefined): Record<string, unknown> | undefined {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
  const [header, payload, signature, extra] = token.split('.');
  if (!header || !payload || !signature || extra !== undefined) return undefined;
  const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    return typeof claims.exp === 'number' && claims.exp > Date.now() / 1000 ? claims : undefined;
  } catch {
    return undefined;
  }
}

const send = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
};

const server = createServer((req, res) => {
  const claims = claimsOf(req.headers.authorization);
  if (claims) send(res, 200, claims);
  else send(res, 401, { statusCode: 401, code: 'UNAUTHORIZED' });
});

server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
