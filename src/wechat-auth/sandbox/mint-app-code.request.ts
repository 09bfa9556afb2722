import { IsIn, IsOptional } from 'class-validator';
import { IsWechatAppid } from '../../common/validation/ids';
import { SANDBOX_PERSONAS, type SandboxPersona } from './sandbox-web-oauth';

export class MintAppCodeRequest {
  /** A mobile app's appid (WECHAT_APPS `appid:secret:app`). */
  @IsWechatAppid()
  appid!: string;

  /** Who signs in (alice, bob: with a unionid; carol: without); default alice. */
  @IsOptional()
  @IsIn(Object.keys(SANDBOX_PERSONAS))
  persona?: SandboxPersona;
}
