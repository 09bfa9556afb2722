import type { NestFastifyApplication } from '@nestjs/platform-fastify';

type CorsOptions = NonNullable<Parameters<NestFastifyApplication['enableCors']>[0]>;
type Delegator = NonNullable<CorsOptions['delegator']>;

// What the API uses, and nothing else: no cookies (tokens travel in Authorization), no other verbs.
const ALLOWED = {
  origin: true, // reflect the request's origin: only reached for an allowlisted one
  credentials: false,
  methods: ['GET', 'POST', 'PATCH', 'DELETE'],
  allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
  exposedHeaders: ['X-Request-Id', 'Retry-After', 'WWW-Authenticate'],
  maxAge: 600,
  // An OPTIONS that is no preflight is refused below instead (as a 404 in the error format, not
  // @fastify/cors's text/plain 400).
  strictPreflight: false,
} satisfies CorsOptions;
// No CORS headers at all; a preflight then falls through to the formatted 404.
const REFUSED = { origin: false } satisfies CorsOptions;

/**
 * CORS for the origins in CORS_ORIGINS only (off when empty: no Access-Control-* header at all).
 * Origins compare exactly, after the configured ones are normalised the way browsers send
 * theirs (lower-case host, no default port, no trailing slash); `Vary: Origin` is on every answer
 * so a cache never hands one origin's answer to another.
 */
export function enableCorsAllowlist(app: NestFastifyApplication, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const allowed = new Set(origins.map((o) => new URL(o).origin));
  const delegator: Delegator = (request, callback) => {
    const origin = request.headers.origin;
    const isPreflightOrSimple =
      request.method !== 'OPTIONS' || request.headers['access-control-request-method'] !== undefined;
    callback(null, origin !== undefined && allowed.has(origin) && isPreflightOrSimple ? ALLOWED : REFUSED);
  };
  app.enableCors({ delegator });
}
