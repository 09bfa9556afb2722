import { ApiProperty } from '@nestjs/swagger';

/** One login session (a refresh-token family) of the caller. */
export class SessionResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'wxsandbox' })
  appid: string;

  @ApiProperty({ type: String, format: 'date-time', description: 'Last login or refresh of this session.' })
  lastRefreshedAt: string;

  @ApiProperty({ type: String, format: 'date-time' })
  expiresAt: string;

  @ApiProperty({ description: 'Whether the calling access token belongs to this session.' })
  current: boolean;
}
