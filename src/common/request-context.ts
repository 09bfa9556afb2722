import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance } from 'fastify';

/** What code deep below a handler may know about the request it serves (the audit trail's request id and IP). */
export interface RequestContext {
  /** Fastify's `request.id` (see request-id.ts): the caller's safe X-Request-Id or a fresh UUID. */
  readonly requestId: string;
  /** Fastify's `request.ip`: the socket address, or the X-Forwarded-For hop that `trustProxy` believes. */
  readonly clientIp: string;
}

/**
 * Our own AsyncLocalStorage instance. nestjs-pino keeps its logger in another one: each instance has its own
 * slot in the async context, so entering one never replaces or hides the other (the spec proves both coexist).
 */
const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` with `context` as the current request context (tests, CLI scripts, background jobs). */
export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The context of the request being served, or undefined outside one (start-up, timers, scripts). */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * Enters the request context for the rest of every request. Call before the routes are registered (before
 * `app.init()` in Nest).
 *
 * One `onRequest` hook is enough, body or not: the rest of the hook chain and the handler are called from inside
 * `storage.run`, and Fastify 5 binds its body parser's callback to the request's async context
 * (`AsyncResource.bind` in fastify/lib/content-type-parser.js), so the stream events that deliver a body do not
 * drop it. The spec sends a body in a later packet than the headers to keep that proven across upgrades.
 */
export function registerRequestContext(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    const context: RequestContext = { requestId: String(request.id), clientIp: request.ip ?? '' };
    storage.run(context, done);
  });
}
