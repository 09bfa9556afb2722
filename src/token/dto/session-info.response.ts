import { ApiProperty } from '@nestjs/swagger';

export class SessionInfoResponse {
  @ApiProperty({ format: 'uuid' })
  userId: string;

  @ApiProperty({ example: 'wxsandbox' })
  appid: string;

  @ApiProperty({ type: [String], example: ['user'] })
  roles: string[];

  @ApiProperty({ type: String, format: 'date-time', description: 'When the access token expires.' })
  expiresAt: string;
}
