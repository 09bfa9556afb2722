import { ApiProperty } from '@nestjs/swagger';
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
