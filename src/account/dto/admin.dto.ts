import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { ROLES, type Role } from '../../common/auth/roles';
import { maskPhone } from '../../users/mask-phone';
import type { User, UserStatus } from '../../users/user.entity';

const WECHAT_ID = /^[A-Za-z0-9_-]{1,128}$/;

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
  @Matches(/^\d{4,20}$/, { message: 'phone must be 4-20 digits' })
  phone?: string;

  @ApiPropertyOptional({ description: 'Exact, case-sensitive.' })
  @IsOptional()
  @Matches(WECHAT_ID, { message: 'openid must be 1-128 characters of [A-Za-z0-9_-]' })
  openid?: string;

  @ApiPropertyOptional({ description: 'Exact, case-sensitive.' })
  @IsOptional()
  @Matches(WECHAT_ID, { message: 'unionid must be 1-128 characters of [A-Za-z0-9_-]' })
  unionid?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: '`nextCursor` of the previous page.' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

export class AdminUserResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ type: String, nullable: true })
  nickname: string | null;

  @ApiProperty({ type: String, nullable: true })
  avatarUrl: string | null;

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

export class IdentityResponse {
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

export class AdminUserDetailResponse {
  @ApiProperty({ type: AdminUserResponse })
  user: AdminUserResponse;

  @ApiProperty({ type: [IdentityResponse] })
  identities: IdentityResponse[];

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
