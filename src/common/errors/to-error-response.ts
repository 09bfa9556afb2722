import { HttpException } from '@nestjs/common';
import { QueryFailedError, TypeORMError } from 'typeorm';
import { StoreUnavailableError } from '../store/store-unavailable.error';
import { AppException } from './app.exception';
import { ERRORS, type ErrorCode } from './error-codes';

export interface ErrorResponse {
  status: number;
  code: ErrorCode;
  message: string;
  headers: Record<string, string>;
  details?: unknown;
  /** Whether this is our fault (log at error level with the cause). */
  unexpected: boolean;
}

const DEFAULT_RETRY_AFTER_SECONDS = 5;

// Driver error codes that mean "the database is not answering right now", not "bad query".
const TRANSIENT_DB_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  // Our deadlines on the MySQL/MariaDB pool (database/db-errors.ts: DatabaseUnavailableError).
  'DB_POOL_ACQUIRE_TIMEOUT',
  'DB_POOL_QUEUE_FULL',
  'DB_POOL_CLOSED',
  'DB_QUERY_TIMEOUT',
  'DB_CONNECT_FAILED',
  'DB_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  'ER_QUERY_TIMEOUT',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_INTERRUPTED',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_FULL',
]);

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'MALFORMED_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  417: 'EXPECTATION_FAILED',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
  503: 'SERVICE_UNAVAILABLE',
};

// Drivers report a closed or unreachable database without an error code in some cases
// (better-sqlite3: "The database connection is not open"; mysql2: "Pool is closed.", "…closed state").
const UNAVAILABLE_MESSAGE =
  /not open|closed state|pool is closed|not established|connection lost|cannot connect/i;

function isDatabaseUnavailable(e: QueryFailedError | TypeORMError): boolean {
  const code = driverCode(e);
  if (code) return TRANSIENT_DB_CODES.has(code);
  const driverError = (e as { driverError?: { message?: unknown } }).driverError;
  const message = typeof driverError?.message === 'string' ? driverError.message : e.message;
  return UNAVAILABLE_MESSAGE.test(message);
}

function driverCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; driverError?: { code?: unknown }; errno?: unknown };
  const code = err?.driverError?.code ?? err?.code;
  return typeof code === 'string' ? code : undefined;
}

function fromCode(code: ErrorCode, extra: Partial<ErrorResponse> = {}): ErrorResponse {
  const status = extra.status ?? ERRORS[code].status;
  const headers: Record<string, string> = {};
  if (status === 503 || status === 429) headers['retry-after'] = String(DEFAULT_RETRY_AFTER_SECONDS);
  return {
    status,
    code,
    message: extra.message ?? ERRORS[code].message,
    details: extra.details,
    unexpected: extra.unexpected ?? false,
    headers: { ...headers, ...extra.headers },
  };
}

/**
 * The AppException an error is answered as, when it is one of ours: an AppException itself, or the shared
 * store's `StoreUnavailableError` (503 SERVICE_UNAVAILABLE with its Retry-After; `common/store` throws no
 * HTTP errors). For code that treats our failures apart from unexpected ones (audit reasons, retry advice).
 */
export function asAppException(exception: unknown): AppException | undefined {
  if (exception instanceof AppException) return exception;
  if (exception instanceof StoreUnavailableError)
    return new AppException('SERVICE_UNAVAILABLE', {
      retryAfter: exception.retryAfterSeconds,
      cause: exception,
    });
  return undefined;
}

/**
 * Maps anything thrown to the public error shape. Unknown errors become a
 * generic 500 without their message: no stack, SQL, driver names or upstream text leaks.
 */
export function toErrorResponse(thrown: unknown): ErrorResponse {
  const exception = asAppException(thrown) ?? thrown;
  if (exception instanceof AppException) {
    const { retryAfter, headers, details } = exception.extras;
    return fromCode(exception.code, {
      status: exception.getStatus(),
      message: exception.message,
      details,
      headers: {
        ...(retryAfter !== undefined ? { 'retry-after': String(Math.max(1, Math.ceil(retryAfter))) } : {}),
        ...headers,
      },
    });
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const code = STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'MALFORMED_REQUEST');
    return fromCode(code, { unexpected: status >= 500 && code === 'INTERNAL_ERROR' });
  }
  if (exception instanceof QueryFailedError || exception instanceof TypeORMError) {
    return isDatabaseUnavailable(exception)
      ? fromCode('DATABASE_UNAVAILABLE', { unexpected: true })
      : fromCode('INTERNAL_ERROR', { unexpected: true });
  }
  // A bare connection error: the mysql2 pool could not connect (ECONNREFUSED, ETIMEDOUT…) or gave no
  // connection in time (DB_POOL_*). TypeORM hands pool errors through unwrapped, not as QueryFailedError.
  // Only the database driver throws these bare: Redis failures arrive as StoreUnavailableError (common/store,
  // mapped above) and WeChat's as WX_UNAVAILABLE (wechat-auth/upstream).
  if (TRANSIENT_DB_CODES.has(driverCode(exception) ?? ''))
    return fromCode('DATABASE_UNAVAILABLE', { unexpected: true });
  // Fastify's own errors (body parsing, size limits, media type) carry a statusCode and an FST_ code.
  const fst = exception as { statusCode?: unknown; code?: unknown };
  if (typeof fst?.statusCode === 'number' && typeof fst.code === 'string' && fst.code.startsWith('FST_')) {
    const status = fst.statusCode;
    if (status < 500) return fromCode(STATUS_CODES[status] ?? 'MALFORMED_REQUEST');
  }
  return fromCode('INTERNAL_ERROR', { unexpected: true });
}
