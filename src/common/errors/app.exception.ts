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
  /** One of the code's `otherStatuses` in the catalogue, where the same failure means something else. */
  status?: number;
}

/** The one exception type services throw; rendered by AllExceptionsFilter. */
export class AppException extends HttpException {
  constructor(
    readonly code: ErrorCode,
    readonly extras: AppExceptionOptions = {},
    message: string = ERRORS[code].message,
  ) {
    super(message, statusOf(code, extras.status), { cause: extras.cause });
  }
}

function statusOf(code: ErrorCode, requested: number | undefined): number {
  const entry: { status: number; otherStatuses?: readonly number[] } = ERRORS[code];
  if (requested === undefined || requested === entry.status) return entry.status;
  // A status outside the catalogue would be undocumented: a programming error, caught by the tests.
  if (!entry.otherStatuses?.includes(requested)) throw new Error(`${code} is never ${requested}`);
  return requested;
}
