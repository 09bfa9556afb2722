import { ApiProperty } from '@nestjs/swagger';
import type { AvatarStatus, User } from '../../users/user.entity';

/** Where a user's profile stands with WeChat's content checks (docs/content-checks.md). */
export class AdminProfileChecksResponse {
  @ApiProperty({ description: 'WeChat said `review` for the saved nickname: look at it.' })
  nicknameReview: boolean;

  @ApiProperty({ enum: ['none', 'pending', 'approved', 'rejected'] })
  avatarStatus: AvatarStatus;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The avatar waiting for WeChat (not shown to users).',
  })
  avatarPendingUrl: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When it was (last) sent.' })
  avatarSubmittedAt: string | null;

  @ApiProperty({
    description: 'Sent again after 30 minutes without a verdict; still pending after that: decide by hand.',
  })
  avatarResubmitted: boolean;

  @ApiProperty({ description: 'WeChat said `review` for the published avatar: look at it.' })
  avatarReview: boolean;
}

export function toAdminProfileChecks(user: User): AdminProfileChecksResponse {
  return {
    nicknameReview: user.nicknameReview,
    avatarStatus: user.avatarStatus,
    avatarPendingUrl: user.avatarPendingUrl,
    avatarSubmittedAt: user.avatarSubmittedAt?.toISOString() ?? null,
    avatarResubmitted: user.avatarResubmitted,
    avatarReview: user.avatarReview,
  };
}
