import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** The raw requests whose id was minted here rather than taken from the client's X-Request-Id. */
const minted = new WeakSet<object>();

/**
 * Fastify's genReqId: keep a caller's X-Request-Id when it is safe to log
 * (no log injection), else mint one. Stored on the raw request so pino-http
 * logs the same id.
 */
export function genRequestId(raw: { headers: IncomingMessage['headers'] }): string {
  const incoming = raw.headers['x-request-id'];
  if (typeof incoming === 'string' && SAFE_ID.test(incoming)) {
    (raw as { id?: string }).id = incoming;
    return incoming;
  }
  const id = randomUUID();
  minted.add(raw);
  (raw as { id?: string }).id = id;
  return id;
}

/**
 * Whether this raw request's id was minted here (a random UUID), not chosen by the client. A client's id is
 * fine for correlating logs but proves nothing: anyone can send another request's id, or a value of their
 * own, so only minted ids go into audit rows (see RequestContext.requestIdMinted).
 */
export function isMintedRequestId(raw: object): boolean {
  return minted.has(raw);
}
