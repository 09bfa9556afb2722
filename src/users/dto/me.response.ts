import { ApiProperty } from '@nestjs/swagger';

export class MeResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ type: String, nullable: true, example: '小程序用户' })
  nickname: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  avatarUrl: string | null;

  /** Masked: only the first 3 and last 4 digits are shown. */
  @ApiProperty({ type: String, nullable: true, example: '138****5678' })
  phone: string | null;

  /** The phone number's country code, digits without `+`. */
  @ApiProperty({ type: String, nullable: true, example: '86' })
  phoneCountryCode: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: string;
}
