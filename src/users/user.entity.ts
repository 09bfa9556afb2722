import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type UserStatus = 'active' | 'disabled';

/**
 * Where the user's last avatar change stands with WeChat's content check (docs/content-checks.md): `none`
 * (not checked: the check is off, or nothing was sent), `pending` (the new avatar waits in
 * `avatarPendingUrl` for WeChat's verdict; `avatarUrl` still shows the previous one), `approved`
 * (published), `rejected` (WeChat judged it risky: dropped).
 */
export type AvatarStatus = 'none' | 'pending' | 'approved' | 'rejected';

const rolesTransformer = {
  to: (roles: string[] | undefined): string => (roles ?? []).join(','),
  from: (value: string | null): string[] => (value ? value.split(',').filter(Boolean) : []),
};

/** A person. Their WeChat identities (one per appid) live in `wechat_identities`. */
@Entity('users')
// One number, one user. NULL in either column never collides, so users without a phone are unconstrained.
@Index('uq_users_phone', ['phoneCountryCode', 'phone'], { unique: true })
@Index('idx_users_avatar_trace', ['avatarTraceId'])
@Index('idx_users_avatar_pending', ['avatarStatus', 'avatarSubmittedAt'])
export class User {
  /** UUID, so failed inserts never burn visible sequence numbers and ids are not enumerable. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  nickname: string | null;

  @Column({ name: 'avatar_url', type: 'varchar', length: 512, nullable: true })
  avatarUrl: string | null;

  /** WeChat's `purePhoneNumber` (digits, no country code); set only with `phoneCountryCode`. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  phone: string | null;

  /** WeChat's `countryCode`, digits without `+` (e.g. `86`). */
  @Column({ name: 'phone_country_code', type: 'varchar', length: 8, nullable: true })
  phoneCountryCode: string | null;

  @Column({ type: 'varchar', length: 255, default: 'user', transformer: rolesTransformer })
  roles: string[];

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status: UserStatus;

  @Column({ name: 'created_at', type: 'datetime' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime' })
  updatedAt: Date;

  @Column({ name: 'last_login_at', type: 'datetime', nullable: true })
  lastLoginAt: Date | null;

  // ---- WeChat's content checks (ProfileModeration; migration 1765400000000) ----

  @Column({ name: 'avatar_status', type: 'varchar', length: 16, default: 'none' })
  avatarStatus: AvatarStatus;

  /** The avatar waiting for WeChat's verdict (shown to nobody but admins until it passes). */
  @Column({ name: 'avatar_pending_url', type: 'varchar', length: 512, nullable: true })
  avatarPendingUrl: string | null;

  /** The app whose interface token and openid the check was sent with (the re-submit uses them again). */
  @Column({ name: 'avatar_check_appid', type: 'varchar', length: 64, nullable: true })
  avatarCheckAppid: string | null;

  /** media_check_async's `trace_id`: the `wxa_media_check` push names it. */
  @Column({ name: 'avatar_trace_id', type: 'varchar', length: 128, nullable: true })
  avatarTraceId: string | null;

  @Column({ name: 'avatar_submitted_at', type: 'datetime', nullable: true })
  avatarSubmittedAt: Date | null;

  /** Sent to WeChat a second time after 30 minutes without a verdict (only once). */
  @Column({ name: 'avatar_resubmitted', type: 'boolean', default: false })
  avatarResubmitted: boolean;

  /** WeChat said `review` for the published avatar: for an admin to look at. */
  @Column({ name: 'avatar_review', type: 'boolean', default: false })
  avatarReview: boolean;

  /** WeChat said `review` for the nickname: saved, for an admin to look at. */
  @Column({ name: 'nickname_review', type: 'boolean', default: false })
  nicknameReview: boolean;
}

/** A new user's content-check columns: nothing pending, nothing flagged (the columns' defaults). */
export const UNCHECKED_PROFILE = {
  avatarStatus: 'none',
  avatarPendingUrl: null,
  avatarCheckAppid: null,
  avatarTraceId: null,
  avatarSubmittedAt: null,
  avatarResubmitted: false,
  avatarReview: false,
  nicknameReview: false,
} as const satisfies Partial<User>;
