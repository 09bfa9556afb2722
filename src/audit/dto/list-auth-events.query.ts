import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsDate,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { MAX_CURSOR_LENGTH } from '../audit-cursor';
import { AUTH_EVENT_TYPES, type AuthEventType } from '../auth-event-type';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../audit.service';

/**
 * An RFC 3339 date-time with its offset (or a bare date, read as UTC midnight). A date-time without an
 * offset is refused: JavaScript would read it in the server's time zone.
 */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Turns a well-formed instant into a Date; anything else stays as it came, for IsDate to refuse. */
const toInstant = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return value;
  // Date rolls impossible days over (02-30 → 03-02): refuse them instead.
  const [y, m, d] = value.slice(0, 10).split('-').map(Number);
  if (m < 1 || m > 12 || d < 1 || d > new Date(Date.UTC(y, m, 0)).getUTCDate()) return value;
  const date = new Date(value);
  return Number.isFinite(date.getTime()) ? date : value;
};

/** Query parameters of the admin audit-trail route (GET /admin/audit-events); `from`/`to` arrive as Dates. */
export class ListAuthEventsQuery {
  @ApiPropertyOptional({ format: 'uuid', description: 'Only events about this user.' })
  @IsOptional()
  @IsUUID()
  userId?: string;

  @ApiPropertyOptional({ enum: AUTH_EVENT_TYPES, enumName: 'AuthEventType' })
  @IsOptional()
  @IsIn(AUTH_EVENT_TYPES)
  type?: AuthEventType;

  @ApiPropertyOptional({ pattern: '^[A-Za-z0-9_-]{1,64}$', example: 'wx1234567890abcdef' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'appid must be 1-64 characters of [A-Za-z0-9_-]' })
  appid?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Events at or after this instant (ISO 8601 with `Z` or an offset).',
    example: '2026-01-01T00:00:00Z',
  })
  @IsOptional()
  @Transform(toInstant)
  @IsDate({ message: 'from must be an ISO 8601 date-time with Z or an offset' })
  from?: Date;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Events before this instant (exclusive).',
    example: '2026-02-01T00:00:00Z',
  })
  @IsOptional()
  @Transform(toInstant)
  @IsDate({ message: 'to must be an ISO 8601 date-time with Z or an offset' })
  to?: Date;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })
  @IsOptional()
  // Query values are strings: only plain digits become a number ('1e1', ' 5', '0x10' stay strings and fail).
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^[0-9]{1,3}$/.test(value) ? Number(value) : value,
  )
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;

  @ApiPropertyOptional({ maxLength: MAX_CURSOR_LENGTH, description: '`nextCursor` of the previous page.' })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_CURSOR_LENGTH)
  cursor?: string;
}
