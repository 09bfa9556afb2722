import { ApiProperty } from '@nestjs/swagger';
import { TokenPairResponse } from '../../../token/dto/token-pair.response';

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
