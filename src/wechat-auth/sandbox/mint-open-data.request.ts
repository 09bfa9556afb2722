import { IsInt, IsObject, IsOptional, Min } from 'class-validator';
import {
  IsPhoneCountryCode,
  IsPurePhoneNumber,
  IsWechatAppid,
  IsWechatUserId,
} from '../../common/validation/ids';

export class MintOpenDataRequest {
  /** Default: the default app (WECHAT_APPID or `wxsandbox`). */
  @IsOptional()
  @IsWechatAppid()
  appid?: string;

  /** Must have logged in (minted a login code) first: the data is encrypted with the current session_key. */
  @IsWechatUserId()
  openid!: string;

  /** The plaintext (the watermark is added); default: a userInfo-like object. */
  @IsOptional()
  @IsObject()
  data?: Record<string, unknown>;

  /** Makes legacy phone-number data (`{phoneNumber, purePhoneNumber, countryCode}`) instead of `data`. */
  @IsOptional()
  @IsPurePhoneNumber()
  phoneNumber?: string;

  /** Default: 86. */
  @IsOptional()
  @IsPhoneCountryCode()
  countryCode?: string;

  /** Seconds; default now. Set it to make stale data. */
  @IsOptional()
  @IsInt()
  @Min(0)
  watermarkTimestamp?: number;

  /** Default: appid. Set it to make data that belongs to another mini program. */
  @IsOptional()
  @IsWechatAppid()
  watermarkAppid?: string;
}
