import { ApiProperty } from '@nestjs/swagger';

export class SessionCheckResponse {
  @ApiProperty({
    description:
      'Whether WeChat still holds the session_key stored for this user valid. `false`: it rotated (a later ' +
      'wx.login) or expired — call wx.login and log in again before decrypting open data.',
    example: true,
  })
  valid: boolean;

  @ApiProperty({ type: String, format: 'date-time', description: 'When WeChat was asked (now).' })
  checkedAt: string;
}
