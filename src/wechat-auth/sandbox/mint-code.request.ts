import { IsBoolean, IsOptional, Matches } from 'class-validator';

export class MintCodeRequest {
  /** Default: the default app (WECHAT_APPID or `wxsandbox`). */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/)
  appid?: string;

  /** Reuse to log in as the same WeChat user again; default: a new random one. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,128}$/)
  openid?: string;

  /** Set to simulate a mini program bound to an Open Platform account; remembered for later codes of this user. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,128}$/)
  unionid?: string;

  /** Like WeChat, each wx.login may rotate the user's session_key; the sandbox always does unless this is true. */
  @IsOptional()
  @IsBoolean()
  keepSessionKey?: boolean;
}
