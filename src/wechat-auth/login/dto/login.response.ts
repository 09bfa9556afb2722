import { ApiProperty } from '@nestjs/swagger';
import { BODY_ERRORS } from '../../../common/errors/api-errors.decorator';
import { TokenPairResponse } from '../../../token/dto/token-pair.response';
import type { WechatLogin } from '../../sign-in/sign-in.service';

export class LoginUser {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ type: String, nullable: true, example: null })
  nickname: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  avatarUrl: string | null;

  @ApiProperty({ description: 'True when this login created the user.' })
  isNew: boolean;
}

export class LoginResponse extends TokenPairResponse {
  @ApiProperty({ type: LoginUser })
  user: LoginUser;
}

/** The login answer of every door, as the mini-program login returns it. */
export function toLoginResponse(login: WechatLogin): LoginResponse {
  const { user, isNew, tokens } = login;
  return { ...tokens, user: { id: user.id, nickname: user.nickname, avatarUrl: user.avatarUrl, isNew } };
}

/** What exchanging a one-time WeChat code for a session can answer, at every door that takes one. */
export const CODE_LOGIN_ERRORS = [
  ...BODY_ERRORS,
  'UNKNOWN_APPID',
  'WX_CODE_INVALID',
  'WX_CODE_USED',
  'WX_USER_BLOCKED',
  'USER_DISABLED',
  'RATE_LIMITED',
  'WX_RATE_LIMITED',
  'WX_UNAVAILABLE',
  'WX_MISCONFIGURED',
  'WX_RETRY_LOGIN',
  'DATABASE_UNAVAILABLE',
  'SERVICE_UNAVAILABLE',
] as const;
