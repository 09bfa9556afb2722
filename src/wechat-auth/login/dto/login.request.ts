import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { LINK_TICKET_PATTERN } from '../../../users/link-tickets';
import { IsWechatAppid, IsWechatCode } from '../../../common/validation/ids';

export class LoginRequest {
  @ApiProperty({
    description: 'The one-time code from `wx.login()` (valid 5 minutes, single use).',
    example: '0a3Bc9ll2sE7Xx0k1lXl2d2wAB3Bc9lX',
  })
  @IsString()
  @IsWechatCode()
  code: string;

  @ApiPropertyOptional({
    description: 'Which configured mini program the code belongs to (default: WECHAT_APPID).',
    example: 'wx1234567890abcdef',
  })
  @IsOptional()
  @IsString()
  @IsWechatAppid()
  appid?: string;

  @ApiPropertyOptional({
    description:
      'From `POST /users/me/identities/link-ticket`: a new identity joins that account instead of a new one.',
    pattern: LINK_TICKET_PATTERN.source,
  })
  @IsOptional()
  @IsString()
  @Matches(LINK_TICKET_PATTERN, { message: 'linkTicket must be 20-128 characters of [A-Za-z0-9_-]' })
  linkTicket?: string;
}
