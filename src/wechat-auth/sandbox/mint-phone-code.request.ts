import { IsOptional, Matches } from 'class-validator';

export class MintPhoneCodeRequest {
  /** Default: the default app (WECHAT_APPID or `wxsandbox`). */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/)
  appid?: string;

  /** The user who taps the getPhoneNumber button. */
  @Matches(/^[A-Za-z0-9_-]{1,128}$/)
  openid!: string;

  /** Without the country code; default: a random 138xxxxxxxx number. */
  @IsOptional()
  @Matches(/^[0-9]{4,20}$/)
  phoneNumber?: string;

  /** Default: 86. Non-CN numbers come back with a `+<code>` prefix in phoneNumber. */
  @IsOptional()
  @Matches(/^[0-9]{1,4}$/)
  countryCode?: string;
}
