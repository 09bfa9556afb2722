import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { isMintedRequestId } from './http/request-id';

/** What the audit trail records about the request an event came from. */
export interface RequestContext {
  /** Fastify's `request.id` (see http/request-id.ts): the caller's safe X-Request-Id or a fresh UUID. */
  readonly requestId: string;
  /** Fastify's `request.ip`: the socket address, or the X-Forwarded-For hop that `trustProxy` believes. */
  readonly clientIp: string;
  /**
   * True when `requestId` was minted here; absent when the client chose it (X-Request-Id). Logs use either;
   * the audit trail records only a minted one — a client could otherwise put another request's id, or
   * anything UUID-shaped of its own, into rows that outlive the account.
   */
  readonly requestIdMinted?: true;
}

/** The context of a Fastify request. */
export function requestContextOf(request: { id: unknown; ip?: string; raw?: object }): RequestContext {
  const requestId = String(request.id);
  const clientIp = request.ip ?? '';
  return request.raw !== undefined && isMintedRequestId(request.raw)
    ? { requestId, clientIp, requestIdMinted: true }
    : { requestId, clientIp };
}

/**
 * The handler's request context, passed explicitly to the services that record audit events
 * (`@ReqContext() context: RequestContext`). Explicit rather than an AsyncLocalStorage: entering one on every request
 * installs promise hooks for the whole process, and GET /auth/session ran at ~60 % of its throughput with
 * it (bench, same machine, same run); see README's Benchmark section.
 */
export const ReqContext = createParamDecorator((_data: unknown, ctx: ExecutionContext): RequestContext =>
  requestContextOf(ctx.switchToHttp().getRequest<{ id: unknown; ip?: string; raw?: object }>()),
);
