import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ERRORS, type ErrorCode } from './error-codes';
import { ErrorResponseDto } from './error-response.dto';

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' as const } },
};

const WWW_AUTHENTICATE = {
  'WWW-Authenticate': {
    description: 'With UNAUTHORIZED: `Bearer error="invalid_token"`.',
    schema: { type: 'string' as const, example: 'Bearer error="invalid_token"' },
  },
};

/** What any route with a JSON body can answer before it runs. */
export const BODY_ERRORS = [
  'VALIDATION_FAILED',
  'MALFORMED_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
] as const;

/** A code, or a code with one of its catalogue `otherStatuses` where the route answers it with that. */
export type DocumentedError = ErrorCode | readonly [ErrorCode, number];

/** Documents the error answers of a route, grouped by status, listing their machine codes. */
export function ApiErrors(...errors: DocumentedError[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const error of errors) {
    const [code, status] = typeof error === 'string' ? [error, ERRORS[error].status] : error;
    const entry: { status: number; otherStatuses?: readonly number[] } = ERRORS[code];
    if (status !== entry.status && !entry.otherStatuses?.includes(status))
      throw new Error(`ApiErrors: ${code} is never ${status}`);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) =>
        ApiResponse({
          status,
          type: ErrorResponseDto,
          description: list.map((c) => `\`${c}\`: ${ERRORS[c].message}`).join('<br>'),
          ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
          ...(list.includes('UNAUTHORIZED') ? { headers: WWW_AUTHENTICATE } : {}),
        }),
      ),
  );
}
