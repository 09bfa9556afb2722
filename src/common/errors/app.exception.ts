import { HttpException } from '@nestjs/common';
import { ERRORS, type ErrorCode } from './error-codes';

export interface AppExceptionOptions {
  /** Seconds, sent as `Retry-After` (429/503). */
  retryAfter?: number;
  /** Extra response headers (e.g. WWW-Authenticate). */
  headers?: Record<string, string>;
  /** Safe, client-facing detail (e.g. validation messages). Never secrets or upstream text. */
  details?: unknown;
  /** For logs only. */
  cause?: unknown;
}

/** The one exception type services throw; rendered by AllExceptionsFilter. */
export class AppException extends HttpException {
  constructor(
    readonly code: ErrorCode,
    readonly extras: AppExceptionOptions = {},
    message: string = ERRORS[code].message,
  ) {
    super(message, ERRORS[code].status, { cause: extras.cause });
  }
}
