import { ApiProperty } from '@nestjs/swagger';
import type { AuditDetails } from '../audit-details';
import { AUTH_EVENT_TYPES, type AuthEventType } from '../auth-event-type';
import type { AuthEventView } from '../audit.service';

/** One entry of the audit trail. */
export class AuthEventResponse implements AuthEventView {
  @ApiProperty({
    description: 'A ULID: sortable, unique.',
    example: '01KB5Q9X7M3N8P2R4S6T8V0W2Y',
    pattern: '^[0-9A-HJKMNP-TV-Z]{26}$',
  })
  id: string;

  @ApiProperty({ type: String, format: 'date-time', description: 'UTC, with milliseconds.' })
  occurredAt: string;

  @ApiProperty({ enum: AUTH_EVENT_TYPES, enumName: 'AuthEventType' })
  type: AuthEventType;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The account concerned.' })
  userId: string | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The admin who acted, on admin actions.',
  })
  actorId: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'wx1234567890abcdef' })
  appid: string | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The session (refresh-token family).',
  })
  sessionId: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'A stable machine code, e.g. the error code of a failed login.',
    example: 'WX_CODE_INVALID',
  })
  reason: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The X-Request-Id of the request that caused it.',
  })
  requestId: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The client address as trusted by TRUST_PROXY; erased when the account is deleted.',
    example: '203.0.113.7',
  })
  clientIp: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    nullable: true,
    description:
      'Non-personal facts from a fixed list of keys (e.g. `count`, `wxErrcode`, `roles`); erased on deletion.',
    example: { count: 3 },
  })
  details: AuditDetails | null;
}

/** One page of the audit trail, newest first. */
export class AuthEventPageResponse {
  @ApiProperty({ type: [AuthEventResponse] })
  items: AuthEventResponse[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next (older) page; null on the last page.',
  })
  nextCursor: string | null;
}
