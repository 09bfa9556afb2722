import { IsInt, IsObject, IsOptional, Matches, Min } from 'class-validator';

export class MintOpenDataRequest {
  /** Default: the default app (WECHAT_APPID or `wxsandbox`). */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/)
  appid?: string;

  /** Must have logged in (minted a login code) first: the data is encrypted with the current session_key. */
  @Matches(/^[A-Za-z0-9_-]{1,128}$/)
  openid!: string;

  /** The plaintext (the watermark is added); default: a userInfo-like object. */
  @IsOptional()
  @IsObject()
  data?: Record<string, unknown>;

  /** Makes legacy phone-number data (`{phoneNumber, purePhoneNumber, countryCode}`) instead of `data`. */
  @IsOptional()
  @Matches(/^[0-9]{4,20}$/)
  phoneNumber?: string;

  /** Default: 86. */
  @IsOptional()
  @Matches(/^[0-9]{1,4}$/)
  countryCode?: string;

  /** Seconds; default now. Set it to make stale data. */
  @IsOptional()
  @IsInt()
  @Min(0)
  watermarkTimestamp?: number;

  /** Default: appid. Set it to make data that belongs to another mini program. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/)
  watermarkAppid?: string;
}
