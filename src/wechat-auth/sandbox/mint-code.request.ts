import { IsBoolean, IsOptional } from 'class-validator';
import { IsWechatAppid, IsWechatUserId } from '../../common/validation/ids';

export class MintCodeRequest {
  /** Default: the default app (WECHAT_APPID or `wxsandbox`). */
  @IsOptional()
  @IsWechatAppid()
  appid?: string;

  /** Reuse to log in as the same WeChat user again; default: a new random one. */
  @IsOptional()
  @IsWechatUserId()
  openid?: string;

  /** Set to simulate a mini program bound to an Open Platform account; remembered for later codes of this user. */
  @IsOptional()
  @IsWechatUserId()
  unionid?: string;

  /** Like WeChat, each wx.login may rotate the user's session_key; the sandbox always does unless this is true. */
  @IsOptional()
  @IsBoolean()
  keepSessionKey?: boolean;
}
