import { ApiProperty } from '@nestjs/swagger';
import type { AvatarStatus } from '../user.entity';

export class MeResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ type: String, nullable: true, example: '小程序用户' })
  nickname: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  avatarUrl: string | null;

  /**
   * WeChat's content check on the last avatar change: `pending` (the new avatar waits for the verdict;
   * `avatarUrl` still shows the previous one), `approved` (published), `rejected` (dropped), `none` (not
   * checked).
   */
  @ApiProperty({ enum: ['none', 'pending', 'approved', 'rejected'], example: 'none' })
  avatarStatus: AvatarStatus;

  /** Masked: only the first 3 and last 4 digits are shown. */
  @ApiProperty({ type: String, nullable: true, example: '138****5678' })
  phone: string | null;

  /** The phone number's country code, digits without `+`. */
  @ApiProperty({ type: String, nullable: true, example: '86' })
  phoneCountryCode: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: string;
}
