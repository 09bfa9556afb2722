import { ApiProperty } from '@nestjs/swagger';
import { IsString } from 'class-validator';
import { IsWechatCode } from '../../../common/validation/ids';

export class BindPhoneRequest {
  @ApiProperty({
    description:
      "The code from the `getPhoneNumber` button's event (`e.detail.code`; single use, valid 5 minutes) — " +
      'not a `wx.login()` code.',
    example: 'e31968a7f94cc5ee25fafc2aef2773f0bb8c3937b22520eb8ee345274d00c144',
  })
  @IsString()
  @IsWechatCode()
  code: string;
}
