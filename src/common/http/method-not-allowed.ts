import type { FastifyInstance } from 'fastify';
import { AppException } from '../errors/app.exception';

/** A route's path pattern as a regular expression, and the methods registered on it. */
interface KnownPath {
  pattern: RegExp;
  methods: Set<string>;
}

/**
 * 405 METHOD_NOT_ALLOWED with `Allow` for a path the API serves, asked with a method it does not take
 * (`GET /auth/refresh`, `DELETE /users/me/export`); paths it does not serve stay 404 NOT_FOUND. The answer
 * goes down the normal error path like every other (error format, X-Request-Id, security headers).
 *
 * Fastify sends every unmatched request to its not-found handler; this learns each route as it is
 * registered (onRoute, so Swagger's and every controller's routes alike) and, for a request that matched
 * none, looks for the paths that match it under another method. OPTIONS is left alone: it is CORS's
 * (a preflight to a path that is not CORS-enabled stays the formatted 404 it was).
 *
 * Must be registered before the routes are (configureApp runs before Nest's init registers them).
 */
export function registerMethodNotAllowed(instance: FastifyInstance): void {
  const known = new Map<string, KnownPath>();
  instance.addHook('onRoute', (route) => {
    const pattern = toPattern(route.url ?? route.path);
    if (!pattern) return;
    const entry = known.get(pattern.source) ?? { pattern, methods: new Set<string>() };
    for (const method of [route.method].flat()) entry.methods.add(method.toUpperCase());
    known.set(pattern.source, entry);
  });
  // After the request gate's preParsing hook (registered earlier): shutdown, rejected URLs and requests
  // without Host answer as they did.
  instance.addHook('preParsing', (request, _reply, payload, done) => {
    if (!request.is404 || request.method === 'OPTIONS') {
      done(null, payload);
      return;
    }
    const path = request.url.split('?', 1)[0];
    const allowed = new Set<string>();
    for (const { pattern, methods } of known.values())
      if (pattern.test(path)) for (const m of methods) allowed.add(m);
    allowed.delete('OPTIONS');
    if (allowed.size === 0 || allowed.has(request.method)) {
      done(null, payload);
      return;
    }
    done(new AppException('METHOD_NOT_ALLOWED', { headers: { allow: [...allowed].sort().join(', ') } }));
  });
}

/**
 * Fastify's route syntax for what this API uses: static segments, `:param` (one segment) and a trailing
 * `*`. Anything else (regex parameters) is not learned — such a path answers 404 for other methods, as
 * before.
 */
export function toPattern(url: string): RegExp | undefined {
  if (url.includes('(')) return undefined;
  const source = url
    .split('/')
    .map((segment) =>
      segment === '*'
        ? '.*'
        : segment.replace(/[.+?^${}|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+'),
    )
    .join('/');
  return new RegExp(`^${source}$`);
}
