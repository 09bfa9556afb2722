import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDate, IsIn, IsOptional } from 'class-validator';
import { PageCursor, PageLimit } from '../../common/pagination/page-query';
import { IsUuidId, IsWechatAppid } from '../../common/validation/ids';
import { AUTH_EVENT_TYPES, type AuthEventType } from '../auth-event-type';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../audit.service';

/**
 * An RFC 3339 date-time with its offset (or a bare date, read as UTC midnight). A date-time without an
 * offset is refused: JavaScript would read it in the server's time zone.
 */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * The instants a DATETIME column compares correctly, in UTC. An offset can carry a four-digit year past
 * them (`9999-12-31T23:00:00-05:00` is in year 10000): the driver then writes `10000-01-01 …`, which
 * MariaDB reads so that `occurred_at >= from` matched every row — the filter reversed.
 */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/** Turns a well-formed instant into a Date; anything else stays as it came, for IsDate to refuse. */
const toInstant = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return value;
  // Date rolls impossible days over (02-30 → 03-02): refuse them instead.
  const [y, m, d] = value.slice(0, 10).split('-').map(Number);
  if (m < 1 || m > 12 || d < 1 || d > new Date(Date.UTC(y, m, 0)).getUTCDate()) return value;
  const date = new Date(value);
  const ms = date.getTime();
  return Number.isFinite(ms) && ms >= EARLIEST && ms <= LATEST ? date : value;
};

const INSTANT_RULE = 'an ISO 8601 date-time with Z or an offset, from year 1 to 9999 in UTC';

/** Query parameters of the admin audit-trail route (GET /admin/audit-events); `from`/`to` arrive as Dates. */
export class ListAuthEventsQuery {
  @ApiPropertyOptional({ description: 'Only events about this user.' })
  @IsOptional()
  @IsUuidId()
  userId?: string;

  @ApiPropertyOptional({ enum: AUTH_EVENT_TYPES, enumName: 'AuthEventType' })
  @IsOptional()
  @IsIn(AUTH_EVENT_TYPES)
  type?: AuthEventType;

  @ApiPropertyOptional({ example: 'wx1234567890abcdef' })
  @IsOptional()
  @IsWechatAppid()
  appid?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Events at or after this instant (ISO 8601 with `Z` or an offset).',
    example: '2026-01-01T00:00:00Z',
  })
  @IsOptional()
  @Transform(toInstant)
  @IsDate({ message: `from must be ${INSTANT_RULE}` })
  from?: Date;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'Events before this instant (exclusive).',
    example: '2026-02-01T00:00:00Z',
  })
  @IsOptional()
  @Transform(toInstant)
  @IsDate({ message: `to must be ${INSTANT_RULE}` })
  to?: Date;

  @PageLimit(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)
  limit?: number;

  @PageCursor()
  cursor?: string;
}
