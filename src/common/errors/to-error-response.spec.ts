import {
  BadGatewayException,
  BadRequestException,
  ForbiddenException,
  HttpException,
  HttpStatus,
  InternalServerErrorException,
  MethodNotAllowedException,
  NotFoundException,
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { DatabaseUnavailableError } from '../../database/db-errors';
import { AppException } from './app.exception';
import { ERRORS } from './error-codes';
import { toErrorResponse } from './to-error-response';

function queryFailed(code: string, message = 'driver said something with SQL in it'): QueryFailedError {
  return new QueryFailedError('SELECT * FROM users', [], Object.assign(new Error(message), { code }));
}

describe('toErrorResponse', () => {
  describe('AppException', () => {
    it('uses the code, its status and its message', () => {
      expect(toErrorResponse(new AppException('NOT_FOUND'))).toEqual({
        status: 404,
        code: 'NOT_FOUND',
        message: ERRORS.NOT_FOUND.message,
        headers: {},
        details: undefined,
        unexpected: false,
      });
    });

    it('passes extra headers and details through', () => {
      const res = toErrorResponse(
        new AppException('UNAUTHORIZED', {
          headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
          details: ['code must be a string'],
        }),
      );
      expect(res.status).toBe(401);
      expect(res.headers).toEqual({ 'www-authenticate': 'Bearer error="invalid_token"' });
      expect(res.details).toEqual(['code must be a string']);
    });

    it('keeps a custom message', () => {
      const res = toErrorResponse(new AppException('VALIDATION_FAILED', {}, 'nickname is too long'));
      expect(res).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', message: 'nickname is too long' });
    });

    it('sends retryAfter as whole seconds, at least 1', () => {
      expect(toErrorResponse(new AppException('RATE_LIMITED', { retryAfter: 2.3 })).headers).toEqual({
        'retry-after': '3',
      });
      expect(toErrorResponse(new AppException('RATE_LIMITED', { retryAfter: 0 })).headers).toEqual({
        'retry-after': '1',
      });
    });

    it('gives 503/429 a default Retry-After that retryAfter overrides', () => {
      expect(toErrorResponse(new AppException('WX_UNAVAILABLE')).headers).toEqual({ 'retry-after': '5' });
      expect(toErrorResponse(new AppException('WX_UNAVAILABLE', { retryAfter: 30 })).headers).toEqual({
        'retry-after': '30',
      });
    });

    it.each([
      ['URI_TOO_LONG', 414],
      ['EXPECTATION_FAILED', 417],
      ['SERVICE_UNAVAILABLE', 503],
    ] as const)('renders %s (what the request gate throws) as %i', (code, status) => {
      expect(toErrorResponse(new AppException(code))).toMatchObject({
        status,
        code,
        message: ERRORS[code].message,
      });
    });

    it('is never "unexpected", even for 5xx codes', () => {
      expect(toErrorResponse(new AppException('DATABASE_UNAVAILABLE')).unexpected).toBe(false);
    });
  });

  describe('Nest HttpException', () => {
    it.each([
      [new BadRequestException('raw detail'), 400, 'MALFORMED_REQUEST'],
      [new UnauthorizedException(), 401, 'UNAUTHORIZED'],
      [new ForbiddenException(), 403, 'FORBIDDEN'],
      [new NotFoundException('Cannot GET /nope'), 404, 'NOT_FOUND'],
      [new MethodNotAllowedException(), 405, 'METHOD_NOT_ALLOWED'],
      [new PayloadTooLargeException(), 413, 'PAYLOAD_TOO_LARGE'],
      [new UnsupportedMediaTypeException(), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [new HttpException('Too Many Requests', HttpStatus.TOO_MANY_REQUESTS), 429, 'RATE_LIMITED'],
      [new ServiceUnavailableException(), 503, 'SERVICE_UNAVAILABLE'],
      [new HttpException('URI Too Long', 414), 414, 'URI_TOO_LONG'],
      [new HttpException('Expectation Failed', HttpStatus.EXPECTATION_FAILED), 417, 'EXPECTATION_FAILED'],
      [new HttpException('teapot', HttpStatus.I_AM_A_TEAPOT), 400, 'MALFORMED_REQUEST'],
    ])('%s → %i %s with the catalogue message', (exception, status, code) => {
      const res = toErrorResponse(exception);
      expect(res.status).toBe(status);
      expect(res.code).toBe(code);
      expect(res.message).toBe(ERRORS[code as keyof typeof ERRORS].message);
      expect(res.unexpected).toBe(false);
    });

    it('maps unlisted 5xx to an unexpected INTERNAL_ERROR', () => {
      for (const e of [new InternalServerErrorException('boom'), new BadGatewayException('upstream text')]) {
        expect(toErrorResponse(e)).toMatchObject({
          status: 500,
          code: 'INTERNAL_ERROR',
          message: ERRORS.INTERNAL_ERROR.message,
          unexpected: true,
        });
      }
    });

    it('adds the default Retry-After to 429 and 503', () => {
      expect(toErrorResponse(new ServiceUnavailableException()).headers).toEqual({ 'retry-after': '5' });
      expect(toErrorResponse(new HttpException('slow down', 429)).headers).toEqual({ 'retry-after': '5' });
    });
  });

  describe('database errors', () => {
    /** A retryable 503 DATABASE_UNAVAILABLE: the catalogue's message, never the driver's, and Retry-After. */
    const expectDatabaseUnavailable = (e: unknown) => {
      const res = toErrorResponse(e);
      expect(res).toMatchObject({
        status: 503,
        code: 'DATABASE_UNAVAILABLE',
        message: ERRORS.DATABASE_UNAVAILABLE.message,
        unexpected: true,
      });
      expect(res.headers).toEqual({ 'retry-after': '5' });
    };

    it('maps a connection failure to a retryable 503 DATABASE_UNAVAILABLE', () => {
      expectDatabaseUnavailable(queryFailed('ECONNREFUSED'));
    });

    it.each(['SQLITE_BUSY', 'ER_LOCK_DEADLOCK', 'PROTOCOL_CONNECTION_LOST'])(
      'treats %s as transient',
      (code) => {
        expect(toErrorResponse(queryFailed(code)).code).toBe('DATABASE_UNAVAILABLE');
      },
    );

    it('maps a bad query to 500 INTERNAL_ERROR without the SQL or driver text', () => {
      const res = toErrorResponse(queryFailed('ER_PARSE_ERROR', 'You have an error in your SQL syntax'));
      expect(res).toMatchObject({ status: 500, code: 'INTERNAL_ERROR', unexpected: true });
      expect(res.message).toBe(ERRORS.INTERNAL_ERROR.message);
      expect(res.headers).toEqual({});
    });

    // What the mysql2 pool hands TypeORM, which passes it on unwrapped (a killed or unreachable database).
    it.each([
      ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:3306'],
      ['ETIMEDOUT', 'connect ETIMEDOUT'],
      ['ECONNRESET', 'read ECONNRESET'],
      ['EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.9:3306'],
      ['PROTOCOL_CONNECTION_LOST', 'Connection lost: The server closed the connection.'],
      ['PROTOCOL_SEQUENCE_TIMEOUT', 'Query inactivity timeout'],
      ['ER_CON_COUNT_ERROR', 'Too many connections'],
    ])(
      'maps a bare mysql2 %s (not wrapped by TypeORM) to 503 DATABASE_UNAVAILABLE with Retry-After',
      (code, text) => {
        expectDatabaseUnavailable(Object.assign(new Error(text), { code, fatal: true }));
      },
    );

    it.each([
      'DB_POOL_ACQUIRE_TIMEOUT',
      'DB_POOL_QUEUE_FULL',
      'DB_QUERY_TIMEOUT',
      'DB_CONNECT_FAILED',
      'DB_CONNECTION_LOST',
    ] as const)(
      'maps the pool guard’s %s, bare or inside a QueryFailedError, to 503 DATABASE_UNAVAILABLE',
      (code) => {
        const bare = new DatabaseUnavailableError(code, 'no database connection within 2000 ms');
        const wrapped = new QueryFailedError('SELECT 1', [], bare);
        for (const e of [bare, wrapped]) {
          expectDatabaseUnavailable(e);
        }
      },
    );

    it('does not take an arbitrary bare error code for a database outage', () => {
      const e = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
      expect(toErrorResponse(e)).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
    });
  });

  describe('Fastify errors', () => {
    it.each([
      ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 'MALFORMED_REQUEST'],
      ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'MALFORMED_REQUEST'],
      ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 'PAYLOAD_TOO_LARGE'],
      ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      // Router failures normally arrive as AppExceptions (common/http/request-gate.ts); the raw ones map too.
      ['FST_ERR_MAX_PARAM_LENGTH', 414, 'URI_TOO_LONG'],
      ['FST_ERR_BAD_URL', 400, 'MALFORMED_REQUEST'],
    ])('%s (%i) → %s, expected', (code, statusCode, expected) => {
      const e = Object.assign(new Error('Fastify internal text'), { code, statusCode });
      const res = toErrorResponse(e);
      expect(res).toMatchObject({ status: statusCode, code: expected, unexpected: false });
      expect(res.message).toBe(ERRORS[expected as keyof typeof ERRORS].message);
    });

    it('maps an unlisted FST_ 4xx to MALFORMED_REQUEST', () => {
      const e = Object.assign(new Error('x'), { code: 'FST_ERR_SOMETHING', statusCode: 422 });
      expect(toErrorResponse(e)).toMatchObject({ status: 400, code: 'MALFORMED_REQUEST' });
    });

    it('does not trust a statusCode without an FST_ code, nor an FST_ 5xx', () => {
      const notFastify = Object.assign(new Error('x'), { code: 'EWHATEVER', statusCode: 400 });
      const fastify5xx = Object.assign(new Error('x'), { code: 'FST_ERR_INTERNAL', statusCode: 500 });
      expect(toErrorResponse(notFastify)).toMatchObject({
        status: 500,
        code: 'INTERNAL_ERROR',
        unexpected: true,
      });
      expect(toErrorResponse(fastify5xx)).toMatchObject({
        status: 500,
        code: 'INTERNAL_ERROR',
        unexpected: true,
      });
    });
  });

  describe('anything else', () => {
    it('is an unexpected 500 with the generic message, never the error’s own', () => {
      const res = toErrorResponse(new Error('ENOENT: /etc/secret-config at Object.<anonymous> (main.ts:1)'));
      expect(res).toEqual({
        status: 500,
        code: 'INTERNAL_ERROR',
        message: ERRORS.INTERNAL_ERROR.message,
        headers: {},
        details: undefined,
        unexpected: true,
      });
    });

    it('copes with non-Error throwables', () => {
      for (const thrown of [undefined, null, 'a string', 42, { message: 'object' }]) {
        expect(toErrorResponse(thrown)).toMatchObject({
          status: 500,
          code: 'INTERNAL_ERROR',
          unexpected: true,
        });
      }
    });
  });
});
