import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Length } from 'class-validator';

export class LogoutRequest {
  @ApiPropertyOptional({
    description: 'Revoke the session this refresh token belongs to (default: the current session).',
  })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  refreshToken?: string;

  @ApiPropertyOptional({ description: 'Revoke every session of the user, on every device.', default: false })
  @IsOptional()
  @IsBoolean()
  all?: boolean;
}
