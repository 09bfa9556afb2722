import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `GET /admin/usage/wechat`: an inclusive range of Beijing days, at most MAX_USAGE_DAYS long. */
export class UsageQuery {
  @ApiProperty({ description: 'First Beijing day (inclusive).', example: '2026-12-01', pattern: DAY.source })
  @Matches(DAY, { message: 'from must be a date as YYYY-MM-DD' })
  from: string;

  @ApiProperty({
    description: 'Last Beijing day (inclusive); at most 92 days after `from`.',
    example: '2026-12-06',
  })
  @Matches(DAY, { message: 'to must be a date as YYYY-MM-DD' })
  to: string;
}

export class UsageCounts {
  @ApiProperty({ description: 'Requests that left for WeChat (each attempt, retries included).' })
  sent: number;

  @ApiProperty({ description: 'Of those, answered with a result.' })
  answered: number;

  @ApiProperty({
    description: 'Of those, failed: an error code, a timeout, a network failure, an unreadable answer.',
  })
  failed: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: "This service's own cap per app and day for this kind (null: none configured).",
  })
  cap: number | null;
}

export class UsageDay {
  @ApiProperty({ example: 'wx1234567890abcdef' })
  appid: string;

  @ApiProperty({ description: 'Beijing day, YYYY-MM-DD.', example: '2026-12-06' })
  day: string;

  @ApiProperty({ type: UsageCounts, description: 'Phone-number lookups (getuserphonenumber).' })
  phone: UsageCounts;

  @ApiProperty({ type: UsageCounts, description: 'Risk-rank calls (getuserriskrank).' })
  risk: UsageCounts;

  @ApiProperty({ type: UsageCounts, description: 'Text checks (msg_sec_check).' })
  text: UsageCounts;

  @ApiProperty({ type: UsageCounts, description: 'Media checks (media_check_async).' })
  media: UsageCounts;
}

export class UsageReport {
  @ApiProperty({ example: '2026-12-01' })
  from: string;

  @ApiProperty({ example: '2026-12-06' })
  to: string;

  @ApiProperty({
    type: [UsageDay],
    description:
      'Every configured app for every day of the range (zeros where nothing was sent), by day then appid.',
  })
  items: UsageDay[];
}
