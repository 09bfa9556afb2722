import { ApiProperty } from '@nestjs/swagger';
import { IsString } from 'class-validator';
import { IsWechatAppid, IsWechatCode } from '../../../common/validation/ids';
import { LinkTicketProperty } from '../../login/dto/link-ticket.decorator';

export class AppLoginRequest {
  @ApiProperty({
    description: 'A mobile app configured with kind `app` (WECHAT_APPS `appid:secret:app`).',
    example: 'wxapp1234567890ab',
  })
  @IsString()
  @IsWechatAppid()
  appid: string;

  @ApiProperty({
    description: "The one-time code from the WeChat SDK's SendAuth (`snsapi_userinfo`); single use.",
    example: '061Xx1ll2sE7Xx0k1lXl2d2wAB3Bc9lX',
  })
  @IsString()
  @IsWechatCode()
  code: string;

  @LinkTicketProperty()
  linkTicket?: string;
}
