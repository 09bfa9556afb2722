import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { CASE_SENSITIVE_COLLATION } from '../database/collation';
import type { IdentityKind } from './identity-kind';
import { User } from './user.entity';

/** One WeChat account (openid) of one app (appid) — a mini program or another door (`kind`) — linked to a user. */
@Entity('wechat_identities')
@Index('uq_wechat_identities_appid_openid', ['appid', 'openid'], { unique: true })
@Index('ix_wechat_identities_unionid', ['unionid'])
@Index('ix_wechat_identities_user_id', ['userId'])
export class WechatIdentity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  // WeChat ids are case-sensitive: binary on MySQL/MariaDB (see CASE_SENSITIVE_COLLATION), SQLite's default.
  @Column({ type: 'varchar', length: 64, collation: CASE_SENSITIVE_COLLATION })
  appid: string;

  @Column({ type: 'varchar', length: 128, collation: CASE_SENSITIVE_COLLATION })
  openid: string;

  @Column({ type: 'varchar', length: 128, nullable: true, collation: CASE_SENSITIVE_COLLATION })
  unionid: string | null;

  /** The door it came through; the appid's configured kind when it was created. */
  @Column({ type: 'varchar', length: 16, default: 'miniprogram' })
  kind: IdentityKind;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_wechat_identities_user' })
  user?: User;

  /**
   * AES-256-GCM sealed, bound to (appid, openid). Never leaves the server. NULL for an identity that came
   * without a WeChat session (other channels).
   */
  @Column({ name: 'session_key_enc', type: 'varchar', length: 255, nullable: true, select: false })
  sessionKeyEnc: string | null;

  /** When `sessionKeyEnc` was last set: WeChat rotates the key, so an old one may no longer decrypt. */
  @Column({ name: 'session_key_updated_at', type: 'datetime', nullable: true })
  sessionKeyUpdatedAt: Date | null;

  @Column({ name: 'created_at', type: 'datetime' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime' })
  updatedAt: Date;

  /** The last login through this identity (NULL: none since the column was added). */
  @Column({ name: 'last_login_at', type: 'datetime', nullable: true })
  lastLoginAt: Date | null;

  /** WeChat's latest getuserriskrank answer for it (0–4, higher is riskier); NULL: never ranked (WECHAT_RISK_CHECK). */
  @Column({ name: 'risk_rank', type: 'smallint', nullable: true })
  riskRank: number | null;

  /** When `riskRank` was asked. */
  @Column({ name: 'risk_ranked_at', type: 'datetime', nullable: true })
  riskRankedAt: Date | null;
}
