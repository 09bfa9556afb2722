import { ApiProperty } from '@nestjs/swagger';

/** The arguments of `new WxLogin({ … })` (wxLogin.js), for a page that embeds the website QR itself. */
export class EmbedConfigResponse {
  @ApiProperty({ example: 'wxweb' })
  appid: string;

  @ApiProperty({ enum: ['snsapi_login'] })
  scope: 'snsapi_login';

  @ApiProperty({ example: 'https://auth.example.com/auth/wechat/oauth/callback' })
  redirect_uri: string;

  @ApiProperty({ description: 'Single use, 10 min, bound to this browser by the cookie set with it.' })
  state: string;
}
