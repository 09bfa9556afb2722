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

/** Documents the error answers of a route, grouped by status, listing their machine codes. */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERRORS[code].status;
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
