import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

/** Where Swagger UI is mounted (its page and assets; not the JSON at /docs-json). */
export const DOCS_PATH = '/docs';

/** Every API answer is JSON: nothing in it may load, run or be framed. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** What the Swagger UI page needs (inline init script and styles, its logo as a data: URL), on /docs only. */
export const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "font-src 'self' https: data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data: validator.swagger.io",
  "object-src 'none'",
  "script-src 'self' https: 'unsafe-inline'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
  'upgrade-insecure-requests',
].join('; ');

/** By the matched route, not the URL: with Swagger off (or for any 404) nothing gets the loose policy. */
function isDocsRoute(route: string | undefined): boolean {
  return route !== undefined && (route === DOCS_PATH || route.startsWith(`${DOCS_PATH}/`));
}

/**
 * Helmet's headers, as helmet computes them for these options, read once at start: none of them
 * depends on the request. (`@fastify/helmet` calls `helmet(options)` — building the whole middleware —
 * on every request, plus two hooks; a CPU profile of GET /auth/session showed it at ~8 % of the CPU.)
 */
export function helmetHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet({
    // One of two fixed strings instead (below): a single global policy was either too loose for the
    // API or too strict for Swagger UI.
    contentSecurityPolicy: false,
    // frame-ancestors 'none' for the browsers that only know the old header.
    xFrameOptions: { action: 'deny' },
  })({} as IncomingMessage, res as unknown as ServerResponse, () => undefined);
  return headers;
}

/**
 * Helmet's headers on every answer, errors included, plus one of two fixed CSP strings and the
 * request id, from one onRequest hook: the header sets are built once; the hook only picks one.
 */
export function registerSecurityHeaders(instance: FastifyInstance): void {
  const base = helmetHeaders();
  const api = { ...base, 'content-security-policy': API_CSP };
  const docs = { ...base, 'content-security-policy': DOCS_CSP };
  instance.addHook('onRequest', (request, reply, done) => {
    void reply.headers(isDocsRoute(request.routeOptions.url) ? docs : api);
    void reply.header('x-request-id', request.id);
    done();
  });
}
