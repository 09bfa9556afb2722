import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsWechatAppid } from '../../common/validation/ids';

/** RFC 7662 §2.2. Everything but `active` is present only for a live token. */
export class IntrospectionResponse {
  @ApiProperty({
    description:
      'Whether the token is a live access token of ours: signed by one of our keys, unexpired, its session not logged out or revoked, its user existing and active.',
    example: true,
  })
  active!: boolean;

  @ApiPropertyOptional({ description: 'The user id.', example: '3f0c1e9a-5b7d-4c2e-9a1f-0d2b3c4e5f60' })
  sub?: string;

  @ApiPropertyOptional({
    description: 'The mini program the user logged in to.',
    example: 'wx1234567890abcdef',
  })
  appid?: string;

  @ApiPropertyOptional({ type: [String], example: ['user'] })
  roles?: string[];

  @ApiPropertyOptional({ description: 'Expiry, seconds since the epoch.', example: 1767225600 })
  exp?: number;

  @ApiPropertyOptional({ description: 'Issued at, seconds since the epoch.', example: 1767224700 })
  iat?: number;

  @ApiPropertyOptional({ example: 'wechat-auth' })
  iss?: string;

  @ApiPropertyOptional({ example: 'miniprogram' })
  aud?: string;

  @ApiPropertyOptional({
    description: 'The login session (refresh-token family).',
    example: '9b2f7c1d-8e4a-4f6b-a3c5-1d2e3f4a5b6c',
  })
  sid?: string;

  @ApiPropertyOptional({ description: 'The token id.', example: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d' })
  jti?: string;

  @ApiPropertyOptional({ example: 'Bearer' })
  token_type?: string;
}

export class WechatAccessTokenQuery {
  /** A well-formed appid that is not configured here is UNKNOWN_APPID (controller); absent = the default app. */
  @ApiPropertyOptional({
    description: 'The mini program; absent = the default one (WECHAT_APPID).',
    example: 'wx1234567890abcdef',
  })
  @IsOptional()
  @IsWechatAppid()
  appid?: string;
}

export class WechatAccessTokenResponse {
  @ApiProperty({
    description: "WeChat's interface access_token for the app (the same one this service uses).",
  })
  access_token!: string;

  @ApiProperty({
    description:
      'Seconds the token stays valid at least (WECHAT_TOKEN_REFRESH_MARGIN_S): ask again after that, never fetch your own.',
    example: 300,
  })
  expires_in!: number;

  @ApiProperty({ example: 'wx1234567890abcdef' })
  appid!: string;
}
