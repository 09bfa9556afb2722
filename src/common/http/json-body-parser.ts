import type { FastifyInstance } from 'fastify';
import { AppException } from '../errors/app.exception';

/**
 * The only routes that take an `application/x-www-form-urlencoded` body, because their standard says so
 * (RFC 7662 introspection). Every other route answers a form with 415, as before: a browser can post a
 * form cross-site without a CORS preflight, so a form body is accepted only where the caller must also
 * authenticate as a service client (HTTP Basic), which a browser's cross-site form cannot do.
 */
export const FORM_BODY_ROUTES: ReadonlySet<string> = new Set(['/oauth/introspect']);

/** Deeper bodies are refused: nothing here needs more, and deep nesting overflows the validator's stack. */
export const MAX_JSON_DEPTH = 32;

/**
 * The only body parser: JSON (no forms, no text/plain → 415). Uses Fastify's
 * own parser with prototype-poisoning protection, answers malformed JSON with
 * MALFORMED_REQUEST, treats an empty body as no body, and refuses deep nesting.
 */
export function registerJsonBodyParser(instance: FastifyInstance): void {
  const parse = instance.getDefaultJsonParser('error', 'error');
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined);
      return;
    }
    parse(request, body as string, (err: Error | null, value: unknown) => {
      if (err) done(new AppException('MALFORMED_REQUEST', { cause: err }), undefined);
      else if (deeperThan(value, MAX_JSON_DEPTH)) {
        done(
          new AppException('VALIDATION_FAILED', {
            details: [`body is nested deeper than ${MAX_JSON_DEPTH} levels`],
          }),
          undefined,
        );
      } else done(null, value);
    });
  });
  instance.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (request, body, done) => {
      if (!FORM_BODY_ROUTES.has(request.routeOptions.url ?? '')) {
        done(new AppException('UNSUPPORTED_MEDIA_TYPE'), undefined);
        return;
      }
      const parsed = parseForm(body as string);
      if (typeof parsed === 'string')
        done(new AppException('VALIDATION_FAILED', { details: [parsed] }), undefined);
      else done(null, parsed);
    },
  );
}

/**
 * A form body as a null-prototype object of strings (`__proto__` is just a name here). A parameter sent
 * twice is refused (RFC 6749 §3.1: "MUST NOT be included more than once"); returns the problem as text.
 */
export function parseForm(body: string): Record<string, string> | string {
  const out = Object.create(null) as Record<string, string>;
  for (const [key, value] of new URLSearchParams(body)) {
    if (Object.prototype.hasOwnProperty.call(out, key)) return 'a form parameter is repeated';
    out[key] = value;
  }
  return out;
}

/** Iterative, so the check itself cannot overflow the stack. */
export function deeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}
