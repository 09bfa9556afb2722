import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE_ID = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * Fastify's genReqId: keep a caller's X-Request-Id when it is safe to log
 * (no log injection), else mint one. Stored on the raw request so pino-http
 * logs the same id.
 */
export function genRequestId(raw: { headers: IncomingMessage['headers'] }): string {
  const incoming = raw.headers['x-request-id'];
  const id = typeof incoming === 'string' && SAFE_ID.test(incoming) ? incoming : randomUUID();
  (raw as { id?: string }).id = id;
  return id;
}
