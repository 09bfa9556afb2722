import { ApiProperty } from '@nestjs/swagger';
import { IDENTITY_KINDS, type IdentityKind } from '../identity-kind';

/** One sign-in identity of the user: which door and app, never the WeChat ids themselves. */
export class IdentityResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({
    enum: IDENTITY_KINDS,
    description:
      '`miniprogram` (wx.login), `oa` (Official Account H5 OAuth), `web` (website QR), `app` (mobile app).',
    example: 'miniprogram',
  })
  kind: IdentityKind;

  @ApiProperty({ example: 'wx1234567890abcdef' })
  appid: string;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'The last login through this identity (null: none recorded yet).',
  })
  lastLoginAt: string | null;

  @ApiProperty({
    description: 'True when WeChat sent a unionid for it (it links doors of one Open Platform account).',
  })
  hasUnionid: boolean;
}

export class LinkTicketResponse {
  @ApiProperty({
    description:
      'Send as `linkTicket` with a login through another door: its new identity joins this account. Single use.',
    example: 'q3Jm0f6bYt2m5b1Qe6m2n0N0v8k1wq3Jm0f6bYt2m5b',
  })
  linkTicket: string;

  @ApiProperty({ description: 'Seconds until the ticket expires.', example: 300 })
  expiresIn: number;
}
