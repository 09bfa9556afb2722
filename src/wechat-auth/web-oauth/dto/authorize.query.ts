import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export const WEB_SCOPES = ['snsapi_base', 'snsapi_userinfo', 'snsapi_login'] as const;
export type WebScope = (typeof WEB_SCOPES)[number];

export class EmbedConfigQuery {
  @ApiProperty({
    description: 'A configured `web` appid (WECHAT_APPS `appid:secret:web`).',
    example: 'wxweb',
  })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/)
  appid: string;

  @ApiProperty({
    description: 'The page the login returns to, under an origin of OAUTH_RETURN_ORIGINS.',
    example: 'https://www.example.com/login/done',
  })
  @IsString()
  @MaxLength(2048)
  returnTo: string;
}

export class AuthorizeQuery extends EmbedConfigQuery {
  @ApiPropertyOptional({
    enum: WEB_SCOPES,
    description:
      'An `oa` appid: `snsapi_base` (silent, openid only) or `snsapi_userinfo` (asks; nickname, avatar, ' +
      'unionid); required. A `web` appid: `snsapi_login`, may be omitted.',
  })
  @IsOptional()
  @IsIn(WEB_SCOPES)
  scope?: WebScope;

  @ApiPropertyOptional({
    description:
      'From `POST /users/me/identities/link-ticket`: attach this WeChat identity to that user instead of a new one.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  linkTicket?: string;
}

export class CallbackQuery {
  @ApiPropertyOptional({ description: "WeChat's authorization code; absent when the user declined." })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  code?: string;

  @ApiPropertyOptional({ description: 'The state of `authorize`, as WeChat hands it back.' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  state?: string;
}
