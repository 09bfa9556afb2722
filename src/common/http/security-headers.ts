import helmet from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

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
 * Helmet's headers on every answer, errors included, plus one of two fixed CSP strings and the
 * request id. Helmet's own CSP is off: it re-parses the directives on every request (a profile
 * showed helmet at ~8 % CPU), and a single global policy was either too loose for the API or too
 * strict for Swagger UI. The strings above are built once; the hook only picks one.
 */
export async function registerSecurityHeaders(app: NestFastifyApplication): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: false,
    enableCSPNonces: false,
    // frame-ancestors 'none' for the browsers that only know the old header.
    xFrameOptions: { action: 'deny' },
  });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      void reply.header('x-request-id', request.id);
      void reply.header(
        'content-security-policy',
        isDocsRoute(request.routeOptions.url) ? DOCS_CSP : API_CSP,
      );
      done();
    });
}
