import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayUnique, IsArray, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { PageCursor, PageLimit } from '../../common/pagination/page-query';
import { IsPurePhoneNumber, IsWechatUserId } from '../../common/validation/ids';
import { ROLES, type Role } from '../../common/auth/roles';
import { maskPhone } from '../../users/mask-phone';
import type { RefreshToken } from '../../token/refresh-token.entity';
import type { IdentityView } from '../../users/user-directory.service';
import type { User, UserStatus } from '../../users/user.entity';
import { AdminProfileChecksResponse, toAdminProfileChecks } from './admin-profile-checks.dto';

/** The admin user list's page size: 20 unless `limit` says otherwise, at most 100. */
export const USERS_PAGE_SIZE = { default: 20, max: 100 } as const;

export class ListUsersQuery {
  @ApiPropertyOptional({ enum: ['active', 'disabled'] })
  @IsOptional()
  @IsIn(['active', 'disabled'])
  status?: UserStatus;

  @ApiPropertyOptional({
    description: 'The full number without country code (exact match).',
    example: '13812345678',
  })
  @IsOptional()
  @IsPurePhoneNumber()
  phone?: string;

  @ApiPropertyOptional({ description: 'Exact, case-sensitive.' })
  @IsOptional()
  @IsWechatUserId()
  openid?: string;

  @ApiPropertyOptional({ description: 'Exact, case-sensitive.' })
  @IsOptional()
  @IsWechatUserId()
  unionid?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 4,
    description:
      "Users with an identity whose latest WeChat risk rank is at least this (see `riskRank` of the user's " +
      'identities); never-ranked identities do not match.',
    example: 3,
  })
  @IsOptional()
  // One plain digit only (`Number()` would take ` 3`, `3.0`, `0x3`); anything else stays a string and fails.
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^[0-4]$/.test(value) ? Number(value) : value,
  )
  @IsInt()
  @Min(0)
  @Max(4)
  riskRankMin?: number;

  @ApiPropertyOptional({
    enum: ['true'],
    description:
      "Only users to look at for WeChat's content checks: a nickname or avatar WeChat flagged `review`, or an " +
      'avatar still without a verdict after its re-submission.',
  })
  @IsOptional()
  @IsIn(['true'])
  needsReview?: 'true';

  @PageLimit(USERS_PAGE_SIZE.max, USERS_PAGE_SIZE.default)
  limit?: number;

  @PageCursor()
  cursor?: string;
}

/** What both full views of a user start with (the admin's and the user's own export): the id and the profile. */
export class AccountUserProfile {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ type: String, nullable: true })
  nickname: string | null;

  @ApiProperty({ type: String, nullable: true })
  avatarUrl: string | null;
}

export class AdminUserResponse extends AccountUserProfile {
  @ApiProperty({ type: String, nullable: true, description: 'Masked.', example: '138****5678' })
  phone: string | null;

  @ApiProperty({ type: String, nullable: true, example: '86' })
  phoneCountryCode: string | null;

  @ApiProperty({ type: [String], example: ['user'] })
  roles: string[];

  @ApiProperty({ enum: ['active', 'disabled'] })
  status: UserStatus;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastLoginAt: string | null;

  @ApiProperty({ type: AdminProfileChecksResponse })
  contentChecks: AdminProfileChecksResponse;
}

/** An admin's view of a user: the phone masked like everywhere else in the API. */
export function toAdminUserResponse(user: User): AdminUserResponse {
  return {
    id: user.id,
    nickname: user.nickname,
    avatarUrl: user.avatarUrl,
    phone: maskPhone(user.phone),
    phoneCountryCode: user.phoneCountryCode,
    roles: user.roles,
    status: user.status,
    createdAt: user.createdAt.toISOString(),
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
    contentChecks: toAdminProfileChecks(user),
  };
}

export class AdminUserPageResponse {
  @ApiProperty({ type: [AdminUserResponse] })
  items: AdminUserResponse[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null at the end.',
  })
  nextCursor: string | null;
}

/**
 * An identity with its WeChat ids, as admins (and the user's own export) see it. Named apart from the user's
 * own `IdentityResponse` (users/dto): Swagger keys schemas by class name, and one shadowed the other.
 */
export class AdminIdentityResponse {
  @ApiProperty()
  appid: string;

  @ApiProperty()
  openid: string;

  @ApiProperty({ type: String, nullable: true })
  unionid: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  sessionKeyUpdatedAt: string | null;

  @ApiProperty({ description: 'Whether a session_key is held (the key itself never leaves the server).' })
  hasSessionKey: boolean;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: 4,
    description:
      "WeChat's latest user risk rank for this identity (getuserriskrank: 0–4, higher is riskier), asked at its " +
      'first login and before phone lookups while `WECHAT_RISK_CHECK` is `observe` or `block`; null: never ranked.',
    example: 0,
  })
  riskRank: number | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When `riskRank` was asked.',
  })
  riskRankedAt: string | null;
}

export class AdminSessionResponse {
  @ApiProperty({ format: 'uuid', description: 'The session (refresh-token family) id.' })
  id: string;

  @ApiProperty()
  appid: string;

  @ApiProperty({ type: String, format: 'date-time' })
  lastRefreshedAt: string;

  @ApiProperty({ type: String, format: 'date-time' })
  expiresAt: string;
}

/** An identity as the API shows it (admins, and the user's own export): dates as ISO strings. */
export function toIdentityResponse(i: IdentityView): AdminIdentityResponse {
  return {
    ...i,
    createdAt: i.createdAt.toISOString(),
    sessionKeyUpdatedAt: i.sessionKeyUpdatedAt?.toISOString() ?? null,
    riskRankedAt: i.riskRankedAt?.toISOString() ?? null,
  };
}

/** A live session (its family's current refresh token) as the API shows it. */
export function toSessionResponse(s: RefreshToken): AdminSessionResponse {
  return {
    id: s.familyId,
    appid: s.appid,
    lastRefreshedAt: s.createdAt.toISOString(),
    expiresAt: s.expiresAt.toISOString(),
  };
}

export class AdminUserDetailResponse {
  @ApiProperty({ type: AdminUserResponse })
  user: AdminUserResponse;

  @ApiProperty({ type: [AdminIdentityResponse] })
  identities: AdminIdentityResponse[];

  @ApiProperty({ type: [AdminSessionResponse] })
  sessions: AdminSessionResponse[];
}

export class SetStatusRequest {
  @ApiProperty({ enum: ['active', 'disabled'] })
  @IsIn(['active', 'disabled'])
  status: UserStatus;
}

export class SetRolesRequest {
  @ApiProperty({
    enum: ROLES,
    isArray: true,
    description: 'The complete set of roles; `user` is always kept.',
    example: ['user', 'admin'],
  })
  @IsArray()
  @ArrayMaxSize(ROLES.length)
  @ArrayUnique()
  @IsIn(ROLES, { each: true })
  roles: Role[];
}
