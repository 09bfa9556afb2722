import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TypeORMError } from 'typeorm';
import { AppException } from '../errors/app.exception';
import { toErrorResponse } from '../errors/to-error-response';

/** Renders every error as `{ statusCode, code, message, requestId }` (plus `details` for validation). */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    sendError(exception, ctx.getRequest<FastifyRequest>(), ctx.getResponse<FastifyReply>(), this.logger);
  }
}

export function sendError(
  exception: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Logger,
): void {
  if (isClientAbort(exception, request)) {
    // Nobody is left to answer, and nothing of ours failed: a phone losing signal mid-upload is no outage.
    logger.debug({ requestId: request.id }, 'client closed the connection before its request arrived');
    return;
  }
  const res = toErrorResponse(exception);
  if (res.unexpected) {
    // The cause goes to the log only (message and stack; never request bodies).
    const err =
      exception instanceof Error
        ? { name: errorName(exception), message: exception.message, stack: exception.stack }
        : { value: String(exception) };
    logger.error({ err, code: res.code, requestId: request.id }, 'request failed');
  }
  if (reply.sent) return;
  const headers: Record<string, string> = { ...res.headers, 'cache-control': 'no-store' };
  // Keep a Retry-After already computed by whoever rejected the request (e.g. the throttler).
  if (reply.hasHeader('retry-after') && !(exception instanceof AppException)) delete headers['retry-after'];
  void reply
    .status(res.status)
    .headers(headers)
    .type('application/json; charset=utf-8')
    .send({
      statusCode: res.status,
      code: res.code,
      message: res.message,
      requestId: request.id,
      ...(res.details !== undefined ? { details: res.details } : {}),
    });
}

function errorName(e: Error): string {
  return e.constructor?.name ?? e.name;
}

/**
 * The request body stream failed because the client went away (Node's `aborted` ECONNRESET on the
 * request itself, before the body was read), not a connection of ours to a dependency, which carries the
 * same code: a database error is never one, and neither is a reset once the body has been read (the
 * request stream is destroyed after every complete read, so `destroyed` proves nothing).
 */
function isClientAbort(exception: unknown, request: FastifyRequest): boolean {
  if (exception instanceof TypeORMError) return false;
  const code = (exception as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' && request.raw.readableAborted;
}
