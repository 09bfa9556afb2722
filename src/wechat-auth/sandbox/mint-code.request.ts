import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';
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

  /** What getuserriskrank answers for this user from now on (WeChat's rank, 0–4); default 0. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(4)
  riskRank?: number;

  /** Makes getuserriskrank answer this errcode for this user instead (e.g. -1, system busy), until the next mint. */
  @IsOptional()
  @IsInt()
  @Min(-1)
  @Max(99999999)
  riskErrcode?: number;
}
