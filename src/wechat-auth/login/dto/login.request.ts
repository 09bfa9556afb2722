import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';

export class LoginRequest {
  @ApiProperty({
    description: 'The one-time code from `wx.login()` (valid 5 minutes, single use).',
    example: '0a3Bc9ll2sE7Xx0k1lXl2d2wAB3Bc9lX',
    pattern: '^[A-Za-z0-9_-]{1,128}$',
  })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,128}$/, { message: 'code must be 1-128 characters of [A-Za-z0-9_-]' })
  code: string;

  @ApiPropertyOptional({
    description: 'Which configured mini program the code belongs to (default: WECHAT_APPID).',
    example: 'wx1234567890abcdef',
    pattern: '^[A-Za-z0-9_-]{1,64}$',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'appid must be 1-64 characters of [A-Za-z0-9_-]' })
  appid?: string;
}
