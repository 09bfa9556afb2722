import { ApiProperty } from '@nestjs/swagger';
import { AuthEventResponse } from '../../audit/dto/auth-event.response';
import { AccountUserProfile, AdminSessionResponse, AdminIdentityResponse } from './admin.dto';

export class ExportedUser extends AccountUserProfile {
  @ApiProperty({
    type: String,
    nullable: true,
    description: "A new avatar still waiting for WeChat's content check (docs/content-checks.md).",
  })
  avatarPendingUrl: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'In full: it is your own data.' })
  phone: string | null;

  @ApiProperty({ type: String, nullable: true })
  phoneCountryCode: string | null;

  @ApiProperty({ type: [String] })
  roles: string[];

  @ApiProperty({ enum: ['active', 'disabled'] })
  status: string;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastLoginAt: string | null;
}

export class AccountExportResponse {
  @ApiProperty({ type: String, format: 'date-time' })
  exportedAt: string;

  @ApiProperty({ type: ExportedUser })
  user: ExportedUser;

  @ApiProperty({ type: [AdminIdentityResponse] })
  identities: AdminIdentityResponse[];

  @ApiProperty({ type: [AdminSessionResponse] })
  sessions: AdminSessionResponse[];

  @ApiProperty({ type: [AuthEventResponse], description: 'What happened to the account (audit trail).' })
  events: AuthEventResponse[];
}
