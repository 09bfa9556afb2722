import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class RefreshRequest {
  @ApiProperty({
    description: 'The refresh token from the last login or refresh.',
    minLength: 1,
    maxLength: 128,
  })
  @IsString()
  @Length(1, 128)
  refreshToken: string;
}
