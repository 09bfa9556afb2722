import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** What the audit trail records about the request an event came from. */
export interface RequestContext {
  /** Fastify's `request.id` (see request-id.ts): the caller's safe X-Request-Id or a fresh UUID. */
  readonly requestId: string;
  /** Fastify's `request.ip`: the socket address, or the X-Forwarded-For hop that `trustProxy` believes. */
  readonly clientIp: string;
}

/** The context of a Fastify request. */
export function requestContextOf(request: { id: unknown; ip?: string }): RequestContext {
  return { requestId: String(request.id), clientIp: request.ip ?? '' };
}

/**
 * The handler's request context, passed explicitly to the services that record audit events
 * (`@ReqContext() context: RequestContext`). Explicit rather than an AsyncLocalStorage: entering one on every request
 * installs promise hooks for the whole process, and GET /auth/session ran at ~60 % of its throughput with
 * it (bench, same machine, same run); see README's Benchmark section.
 */
export const ReqContext = createParamDecorator((_data: unknown, ctx: ExecutionContext): RequestContext =>
  requestContextOf(ctx.switchToHttp().getRequest<{ id: unknown; ip?: string }>()),
);
