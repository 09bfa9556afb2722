import type { FastifyInstance } from 'fastify';
import { AppException } from '../errors/app.exception';

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
