import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The cookie that binds a login's `state` to the browser that started it: a state that reaches the callback
 * in another browser (a link sent to a victim, login CSRF) is refused. HttpOnly (no script reads it) and
 * SameSite=Lax (sent on the top-level redirect back from WeChat, not on cross-site subrequests); scoped to
 * the login routes; as long as the state lives.
 *
 * One value per browser, reused while it lives: two tabs logging in at once each keep their state.
 */
export const BINDING_COOKIE = 'wxauth_oauth';
const BINDING_PATH = '/auth/wechat/oauth';
const BINDING = /^[A-Za-z0-9_-]{43}$/;

export function readBinding(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== BINDING_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (BINDING.test(value)) return value;
  }
  return undefined;
}

/** Sets (or renews) the cookie; `secure` when the service is reached over https. */
export function writeBinding(
  reply: FastifyReply,
  value: string,
  maxAgeSeconds: number,
  secure: boolean,
): void {
  reply.header(
    'set-cookie',
    `${BINDING_COOKIE}=${value}; Path=${BINDING_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax` +
      (secure ? '; Secure' : ''),
  );
}
