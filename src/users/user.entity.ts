import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type UserStatus = 'active' | 'disabled';

const rolesTransformer = {
  to: (roles: string[] | undefined): string => (roles ?? []).join(','),
  from: (value: string | null): string[] => (value ? value.split(',').filter(Boolean) : []),
};

/** A person. Their WeChat identities (one per appid) live in `wechat_identities`. */
@Entity('users')
// One number, one user. NULL in either column never collides, so users without a phone are unconstrained.
@Index('uq_users_phone', ['phoneCountryCode', 'phone'], { unique: true })
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
}
