import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';
import { IsWechatAppid, IsWechatCode } from '../../../common/validation/ids';
import { LinkTicketProperty } from './link-ticket.decorator';

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

  @LinkTicketProperty()
  linkTicket?: string;
}
