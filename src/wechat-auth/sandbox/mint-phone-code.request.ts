import { IsOptional } from 'class-validator';
import {
  IsPhoneCountryCode,
  IsPurePhoneNumber,
  IsWechatAppid,
  IsWechatUserId,
} from '../../common/validation/ids';

export class MintPhoneCodeRequest {
  /** Default: the default app (WECHAT_APPID or `wxsandbox`). */
  @IsOptional()
  @IsWechatAppid()
  appid?: string;

  /** The user who taps the getPhoneNumber button. */
  @IsWechatUserId()
  openid!: string;

  /** Without the country code; default: a random 138xxxxxxxx number. */
  @IsOptional()
  @IsPurePhoneNumber()
  phoneNumber?: string;

  /** Default: 86. Non-CN numbers come back with a `+<code>` prefix in phoneNumber. */
  @IsOptional()
  @IsPhoneCountryCode()
  countryCode?: string;
}
