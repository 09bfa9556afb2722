import { ApiProperty } from '@nestjs/swagger';

export class TokenPairResponse {
  @ApiProperty({ description: 'JWT (HS256, typ at+jwt). Send as `Authorization: Bearer <accessToken>`.' })
  accessToken: string;

  @ApiProperty({ enum: ['Bearer'], example: 'Bearer' })
  tokenType: 'Bearer';

  @ApiProperty({ description: 'Access token lifetime in seconds.', example: 900 })
  expiresIn: number;

  @ApiProperty({
    description:
      'Opaque, single use: every refresh returns a new one and kills the old one (a repeat within ' +
      'REFRESH_REUSE_INTERVAL of that refresh answers the same pair again).',
  })
  refreshToken: string;

  @ApiProperty({ description: 'Refresh token lifetime in seconds.', example: 2592000 })
  refreshExpiresIn: number;
}
