import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { LINK_TICKET_PATTERN } from '../../../users/link-tickets';

export class AppLoginRequest {
  @ApiProperty({
    description: 'A mobile app configured with kind `app` (WECHAT_APPS `appid:secret:app`).',
    example: 'wxapp1234567890ab',
    pattern: '^[A-Za-z0-9_-]{1,64}$',
  })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'appid must be 1-64 characters of [A-Za-z0-9_-]' })
  appid: string;

  @ApiProperty({
    description: "The one-time code from the WeChat SDK's SendAuth (`snsapi_userinfo`); single use.",
    example: '061Xx1ll2sE7Xx0k1lXl2d2wAB3Bc9lX',
    pattern: '^[A-Za-z0-9_-]{1,128}$',
  })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,128}$/, { message: 'code must be 1-128 characters of [A-Za-z0-9_-]' })
  code: string;

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
