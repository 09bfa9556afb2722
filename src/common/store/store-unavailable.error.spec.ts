import { HttpException } from '@nestjs/common';
import { asAppException, toErrorResponse } from '../errors/to-error-response';
import { StoreUnavailableError } from './store-unavailable.error';

describe('StoreUnavailableError', () => {
  it('is a storage error, not an HTTP one', () => {
    const e = new StoreUnavailableError(5, { cause: new Error('Command timed out') });
    expect(e).not.toBeInstanceOf(HttpException);
    expect(e.name).toBe('StoreUnavailableError');
    expect(e.retryAfterSeconds).toBe(5);
    expect((e.cause as Error).message).toBe('Command timed out');
  });

  it('is answered as 503 SERVICE_UNAVAILABLE with its Retry-After, as an expected failure (no error log)', () => {
    expect(toErrorResponse(new StoreUnavailableError(5))).toEqual({
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      message: 'The service is unavailable; retry shortly.',
      headers: { 'retry-after': '5' },
      details: undefined,
      unexpected: false,
    });
    expect(toErrorResponse(new StoreUnavailableError(1)).headers).toEqual({ 'retry-after': '1' });
  });

  it('asAppException: ours as the AppException it is answered as, anything else undefined', () => {
    const mapped = asAppException(new StoreUnavailableError(7));
    expect(mapped).toMatchObject({ code: 'SERVICE_UNAVAILABLE', extras: { retryAfter: 7 } });
    expect(mapped?.getStatus()).toBe(503);
    expect(asAppException(new Error('boom'))).toBeUndefined();
    expect(asAppException(undefined)).toBeUndefined();
  });
});
